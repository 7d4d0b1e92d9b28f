/**
 * What the outputs that boot into RAM share (netboot, live): their boot layer and kernel
 * command line, and taking the kernel and initramfs out of that layer.
 *
 * Their boot layer sits on the kernel's layer like a disk's (./disk/boot-layer.ts), with the
 * same strata boot script, and adds busybox: its wget and sha256sum fetch and check the layers
 * in the initramfs, and klibc's ipconfig (initramfs-tools' configure_networking) brings the
 * network up. It installs no boot loader, so netboot and live outputs of one recipe share it.
 *
 * A recipe with `update:` adds its keyring and gpgv, which the initramfs hook copies in: a
 * netboot then boots only a manifest signed by that keyring. gpgv, not sqv, because it is in
 * every Debian release strata builds and the host's own tests run the same verifier.
 */
import { join } from "node:path";
import type { ResolvedLayer } from "../recipe/graph.js";
import type { Recipe, Step } from "../recipe/schema.js";
import { addedLayer } from "./added-layer.js";
import { type BootFiles, checkKernelInTop, extractBootFiles } from "./disk/boot-files.js";
import { initramfsScriptSteps, kernelLayerOf, MKINITRAMFS } from "./disk/boot-layer.js";
import { consoles } from "./disk/cmdline.js";
import { UPDATE_KEYRING } from "./disk/update-layer.js";
import { kernelPrecondition } from "./kernel-check.js";
import type { AddedLayer, AddLayersContext, OutputInput } from "./types.js";

export const RAM_BOOT_ROLE = "boot";

export const RAM_BOOT_PACKAGES = ["initramfs-tools", "busybox"];

/** The verifier the initramfs checks a manifest's signature with. */
export const RAM_BOOT_VERIFIER = "gpgv";

export function ramBootSteps(recipe: Recipe): Step[] {
  const keyring = recipe.update?.keyring;
  return [
    { packages: keyring ? [...RAM_BOOT_PACKAGES, RAM_BOOT_VERIFIER] : RAM_BOOT_PACKAGES },
    ...(keyring ? [{ copy: { from: keyring, to: UPDATE_KEYRING, mode: "0644" } }] : []),
    ...initramfsScriptSteps(),
    { run: { name: "initramfs", script: MKINITRAMFS } },
  ];
}

export function ramBootLayer(on: ResolvedLayer, recipe: Recipe): ResolvedLayer {
  return addedLayer(on, `${on.name}.boot-ram`, ramBootSteps(recipe), "boot layer", "outputs");
}

/** The output's boot layer, with the E_NO_KERNEL check a disk's has. */
export function ramBootLayers(what: string, ctx: AddLayersContext): AddedLayer[] {
  return [
    {
      role: RAM_BOOT_ROLE,
      layer: ramBootLayer(kernelLayerOf(ctx.stack), ctx.recipe),
      precondition: kernelPrecondition(what, ctx),
    },
  ];
}

/** The kernel and initramfs of the output's boot layer, copied into the scratch directory. */
export async function ramBootFiles(
  what: string,
  input: OutputInput<{ type: string }>,
): Promise<BootFiles> {
  const boot = input.added[RAM_BOOT_ROLE];
  if (!boot) throw new Error(`${what} '${input.name}' has no boot layer in the plan`);
  const files = await boot.withRoot(async (root) =>
    extractBootFiles(
      root.path,
      { boot: "none" },
      input.env.distro.arch,
      join(input.scratch, "boot"),
    ),
  );
  checkKernelInTop(
    `${what} '${input.name}'`,
    files.kernelVersion,
    boot.layers.at(-2)?.name,
    input.stack.layers.at(-1),
  );
  return files;
}

export interface RamCmdlineOptions {
  console?: string[];
  cmdline: string;
}

/**
 * The kernel command line that boots into RAM: `where` is strata.fetch=URL (netboot) or
 * strata.live=... (live). DHCP on every link unless the recipe's cmdline has its own ip=.
 */
export function ramCmdline(
  o: RamCmdlineOptions,
  arch: string,
  where: string[],
  network: boolean,
): string {
  const ip = network && !/(^|\s)ip=/.test(o.cmdline) ? ["ip=dhcp"] : [];
  const cons = consoles(o, arch).map((c) => `console=${c}`);
  return ["boot=strata", ...where, "strata.root=immutable", ...ip, ...cons, o.cmdline]
    .filter((x) => x !== "")
    .join(" ");
}
