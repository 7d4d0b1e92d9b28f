/**
 * `type: iso`: one hybrid image that boots from a CD (El Torito) and from a USB stick
 * (isohybrid), on UEFI and BIOS PCs (amd64) or UEFI (arm64):
 *
 *   - { type: iso }                                   the live system: the layers, changes in RAM
 *   - { type: iso, installer: true }                  with strata-install in it
 *   - { type: iso, persistence: true }                changes kept on the USB stick it is written to
 *   - { type: iso, installer: true, disk: { boot: bios, root: persistent } }
 *   - { type: iso, hybrid: false }                    a CD-only ISO (no partition table)
 *
 * Keys: `firmware` (default [uefi, bios] on amd64, [uefi] on arm64), `hybrid` (default true),
 * `persistence` (default false), `installer`, `disk` (the installed disk's `table`, `boot`,
 * `filesystem`, `root`, `esp_size`), `cmdline`, `console`.
 *
 * The ISO holds the disk image the recipe's disk output would write for `disk` (the same code
 * writes it: ../disk/assemble.ts), at its smallest, as /strata/disk.img. The live system boots
 * from it: GRUB (from the image's own packages, ./loaders.ts) finds the medium by its label,
 * loads /boot/vmlinuz and /boot/initrd.img (the disk's own), and the strata boot script
 * (`strata.medium=LABEL=STRATA_ISO`) mounts the store partition inside /strata/disk.img
 * read-only and stacks its layers, with the installer layer on top. `strata-install /dev/sdX`
 * writes that image to a disk, whose first boot grows the store to fill it: the installed
 * disk is exactly what `type: disk` builds. Made with xorriso and mtools, never by mounting.
 *
 * Persistence: the boot menu's first entry adds `strata.persistence=LABEL=strata-persist`.
 * The boot script keeps the changes on the filesystem with that label. When there is none and
 * the medium is a disk (a USB stick, not a CD) with room after the ISO, it makes one there on
 * first boot: the GPT's backup header moves to the end of the stick, a partition is added
 * after the ISO, and it gets an ext4 filesystem. The second entry keeps the changes in RAM.
 * `<name>.iso.json` beside it tells `strata run` how to boot it.
 */
import { mkdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { copyFileFromRoot } from "../../host/in-root.js";
import type { ToolName } from "../../host/tools.js";
import type { SemanticProblem } from "../../recipe/verify.js";
import { assembleDisk } from "../disk/assemble.js";
import { extractBootFiles } from "../disk/boot-files.js";
import { BOOT_ROLE } from "../disk/boot-layer.js";
import { consoles, FIRST_VERSION } from "../disk/cmdline.js";
import { makeEsp } from "../disk/esp.js";
import { grubConfig } from "../disk/grub.js";
import { diskOutput } from "../disk/index.js";
import { DiskOutput } from "../disk/schema.js";
import { partition } from "../disk/layout.js";
import { placeFile } from "../disk/store.js";
import { moveFile } from "../disk/image.js";
import { kernelProblems } from "../kernel-check.js";
import type { AddLayersContext, OutputInput, OutputPlugin } from "../types.js";
import { INSTALLER_ROLE, installerLayer } from "./installer-layer.js";
import {
  BOOT_HYBRID,
  EFI_NAME,
  ELTORITO,
  ISO_LABEL,
  LOADER_DIR,
  LOADERS_ROLE,
  loadersLayer,
} from "./loaders.js";
import { IsoOutput } from "./schema.js";
import { ISO_SIDECAR_FORMAT, type IsoSidecar } from "./sidecar.js";

type Arch = "amd64" | "arm64";

/** The label of the partition (or any filesystem) that keeps a live system's changes. */
export const PERSISTENCE_LABEL = "strata-persist";

export function isoFirmware(o: IsoOutput, arch: string): ("uefi" | "bios")[] {
  return o.firmware ?? (arch === "amd64" ? ["uefi", "bios"] : ["uefi"]);
}

/** The disk output the ISO carries and installs. */
export function installedDisk(o: IsoOutput): DiskOutput {
  return DiskOutput.parse({ type: "disk", ...o.disk, cmdline: o.cmdline, console: o.console });
}

function verifyIso(o: IsoOutput, ctx: { recipe: AddLayersContext["recipe"]; index: number }) {
  const arch = ctx.recipe.distro.arch;
  const problems: SemanticProblem[] = [...kernelProblems(ctx.recipe, o, "iso output")];
  if (arch !== "amd64" && arch !== "arm64") {
    problems.push({
      path: ["type"],
      message: `ISO images are made for amd64 and arm64, not ${arch}`,
      hint: "use `distro.arch: arm64`, or a `tar` output",
    });
  } else if (arch !== "amd64" && isoFirmware(o, arch).includes("bios")) {
    problems.push({
      path: ["firmware"],
      message: `an ${arch} ISO cannot boot with BIOS: BIOS exists only on amd64 PCs`,
      hint: "use `firmware: [uefi]` (or leave `firmware` out)",
    });
  }
  if (o.persistence && !o.hybrid) {
    problems.push({
      path: ["persistence"],
      message:
        "persistence needs a writable medium, but `hybrid: false` makes a CD-only ISO: a CD has no room to keep changes",
      hint: "drop `hybrid: false` (an ISO is hybrid by default: it can be written to a USB stick), or drop `persistence`",
    });
  }
  const disk = installedDisk(o);
  // The disk's own checks, but its architecture check (at `type`) is the ISO's, above.
  for (const p of diskOutput.verify?.(disk, ctx) ?? []) {
    if (p.path[0] !== "type") problems.push({ ...p, path: ["disk", ...p.path] });
  }
  return problems;
}

/** The kernel command line of the live system on the medium; `persist` keeps its changes. */
export function liveCmdline(
  o: IsoOutput,
  arch: string,
  storeOffset: number,
  persist: boolean,
): string {
  return [
    "boot=strata",
    `strata.version=${FIRST_VERSION}`,
    "strata.root=immutable",
    `strata.medium=LABEL=${ISO_LABEL}`,
    `strata.medium.offset=${storeOffset}`,
    ...(persist ? [`strata.persistence=LABEL=${PERSISTENCE_LABEL}`] : []),
    ...consoles(o, arch).map((c) => `console=${c}`),
    o.cmdline,
  ]
    .filter((x) => x !== "")
    .join(" ");
}

/** The boot menu: with persistence, a second entry boots with the changes in RAM. */
export function liveEntries(o: IsoOutput, arch: string, storeOffset: number, recipe: string) {
  const entry = (title: string, persist: boolean) => ({
    title,
    linux: "/boot/vmlinuz",
    initrd: "/boot/initrd.img",
    options: liveCmdline(o, arch, storeOffset, persist),
  });
  return o.persistence
    ? [
        entry(`${recipe} (strata, live, changes kept)`, true),
        entry(`${recipe} (strata, live, changes in RAM)`, false),
      ]
    : [entry(`${recipe} (strata, live)`, false)];
}

/**
 * xorriso's command line (its mkisofs emulation). The tree holds boot/grub/eltorito.img (BIOS)
 * and boot/efi.img (UEFI). `hybrid` adds what a USB stick needs: GRUB's boot code in the MBR
 * for a BIOS, and a GPT partition over efi.img for a UEFI.
 */
export function xorrisoArgs(o: {
  firmware: readonly ("uefi" | "bios")[];
  hybrid: boolean;
  hybridMbr: string;
  tree: string;
  iso: string;
}): string[] {
  const args = ["-as", "mkisofs", "-iso-level", "3", "-R", "-V", ISO_LABEL, "-o", o.iso];
  if (o.firmware.includes("bios")) {
    args.push(
      "-b",
      "boot/grub/eltorito.img",
      "-no-emul-boot",
      "-boot-load-size",
      "4",
      "-boot-info-table",
      "--grub2-boot-info",
      ...(o.hybrid ? ["--grub2-mbr", o.hybridMbr] : []),
    );
  }
  if (o.firmware.includes("uefi")) {
    args.push("--efi-boot", "boot/efi.img");
    if (o.hybrid) args.push("-efi-boot-part", "--efi-boot-image");
    if (o.hybrid && !o.firmware.includes("bios")) args.push("--protective-msdos-label");
  }
  args.push(o.tree);
  return args;
}

async function writeIso(input: OutputInput<IsoOutput>): Promise<void> {
  const { output: o, env, scratch, name } = input;
  const arch = env.distro.arch as Arch;
  const firmware = isoFirmware(o, arch);
  const tree = join(scratch, "tree");
  for (const d of ["boot/grub", "strata"]) mkdirSync(join(tree, d), { recursive: true });

  // The installed disk, at its smallest: the same assembly as a `type: disk` output.
  const disk = installedDisk(o);
  const diskImage = join(tree, "strata", "disk.img");
  const diskScratch = join(scratch, "disk");
  mkdirSync(join(diskScratch, "work"), { recursive: true });
  // Assembled apart, so that only the image goes into the ISO (not its .bmap, .json, release).
  const built = join(diskScratch, "disk.img");
  const layout = await assembleDisk(
    { ...input, output: disk, target: built, scratch: join(diskScratch, "work") },
    { minimal: true },
  );
  renameSync(built, diskImage);
  const offset = partition(layout, "data").start * 512;

  env.reporter.status(`iso ${name}: boot loaders`);
  const boot = input.added[BOOT_ROLE];
  const loaders = input.added[LOADERS_ROLE];
  if (!boot || !loaders) throw new Error(`iso output '${name}' has no boot layers in the plan`);
  const files = await boot.withRoot(async (root) =>
    extractBootFiles(root.path, { boot: "none" }, arch, join(scratch, "boot")),
  );
  placeFile(files.vmlinuz, join(tree, "boot", "vmlinuz"));
  placeFile(files.initrd, join(tree, "boot", "initrd.img"));
  const efiBinary = join(scratch, EFI_NAME[arch]);
  const hybridMbr = join(scratch, "boot_hybrid.img");
  await loaders.withRoot(async (root) => {
    copyFileFromRoot(root.path, `${LOADER_DIR}/${EFI_NAME[arch]}`, efiBinary);
    if (firmware.includes("bios")) {
      copyFileFromRoot(root.path, ELTORITO, join(tree, "boot", "grub", "eltorito.img"));
      copyFileFromRoot(root.path, BOOT_HYBRID, hybridMbr);
    }
  });

  const entries = liveEntries(o, arch, offset, env.recipe.name);
  const cmdline = (entries[0] as (typeof entries)[number]).options;
  writeFileSync(join(tree, "boot", "grub", "grub.cfg"), grubConfig(entries));
  const installer = input.added[INSTALLER_ROLE];
  if (installer) {
    const top = installer.layers.at(-1);
    if (!top) throw new Error("the installer layer has no module");
    placeFile(top.module, join(tree, "strata", "installer.sqfs"));
    writeFileSync(join(tree, "strata", "live-layers"), "installer.sqfs\n");
  }

  if (firmware.includes("uefi")) {
    // A FAT image with the removable-media EFI binary: El Torito's EFI entry, and (hybrid) a
    // partition for firmware that boots a USB stick.
    await makeEsp(
      join(tree, "boot", "efi.img"),
      4 * 1024 * 1024,
      "STRATA_EFI",
      [{ from: efiBinary, to: `/EFI/BOOT/${EFI_NAME[arch]}` }],
      [],
      "12",
    );
  }
  const args = xorrisoArgs({
    firmware,
    hybrid: o.hybrid,
    hybridMbr,
    tree,
    iso: join(scratch, "out.iso"),
  });
  env.reporter.status(`iso ${name}: xorriso`);
  await env.run("xorriso", args, {
    env: { SOURCE_DATE_EPOCH: String(env.epoch) },
    onLine: (l) => env.reporter.detail(l),
  });
  const iso = join(scratch, "out.iso");
  const sidecar: IsoSidecar = {
    format: ISO_SIDECAR_FORMAT,
    arch,
    recipe: env.recipe.name,
    firmware,
    label: ISO_LABEL,
    cmdline,
    console: (consoles(o, arch).at(-1) ?? "ttyS0").split(",")[0] as string,
    installer: installer !== undefined,
    hybrid: o.hybrid,
    persistence: o.persistence,
    disk: { boot: disk.boot, bytes: statSync(diskImage).size },
    bytes: statSync(iso).size,
  };
  writeFileSync(`${iso}.json`, `${JSON.stringify(sidecar, null, 2)}\n`);
  await moveFile(`${iso}.json`, `${input.target}.json`);
  await moveFile(iso, input.target);
}

export const isoOutput: OutputPlugin<IsoOutput> = {
  type: "iso",
  schema: IsoOutput,
  tools(o) {
    const tools: ToolName[] = ["xorriso", "mkfsVfat", "mcopy", "mmd"];
    return [...new Set([...tools, ...diskOutput.tools(installedDisk(o))])];
  },
  fileName: (_o, name) => `${name}.iso`,
  verify: verifyIso,
  layers(o, ctx) {
    const arch = ctx.arch as Arch;
    const disk = diskOutput.layers?.(installedDisk(o), ctx) ?? [];
    const boot = disk.find((l) => l.role === BOOT_ROLE);
    const on = boot ? ctx.stack.find((l) => l.name === boot.layer.parent) : undefined;
    const top = ctx.stack.at(-1);
    return [
      ...disk,
      ...(on
        ? [
            {
              role: LOADERS_ROLE,
              layer: loadersLayer(on, arch, isoFirmware(o, arch).includes("bios")),
            },
          ]
        : []),
      ...(o.installer && top ? [{ role: INSTALLER_ROLE, layer: installerLayer(top) }] : []),
    ];
  },
  write: writeIso,
};
