/**
 * `type: live`: three files that boot with any boot loader, or straight from QEMU:
 *
 *   <name>.live/
 *     vmlinuz       the kernel
 *     initrd.img    the initramfs, with the strata boot script
 *     root.sqfs     the output's layers merged into one squashfs (a lower layer's files
 *                   that an upper one deleted or replaced are gone, not hidden)
 *     live.json     how `strata run` boots it
 *
 * The kernel command line (live.json, and the `cmdline` to give any other loader) has
 * `strata.live=auto`: the initramfs mounts the first block device that holds a squashfs
 * (root.sqfs written to a partition or attached as a disk); `strata.live=http://.../root.sqfs`
 * fetches it into RAM instead. Changes live in RAM. Keys: `cmdline`, `console` (as for disks).
 *
 * One merged squashfs rather than the layer files: it is smaller (a file that several layers
 * change is stored once, what a layer deletes not at all), mounts as one filesystem instead of
 * an overlay of each layer, and is a single file to carry (bench/netboot.ts measures both).
 */
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { squashfsArgs } from "../../build/pack.js";
import { consoles } from "../disk/cmdline.js";
import { placeFile } from "../disk/store.js";
import { kernelProblems } from "../kernel-check.js";
import { ramBootFiles, ramBootLayers, ramCmdline } from "../ram-boot.js";
import { replaceDirectory } from "../replace-dir.js";
import type { OutputInput, OutputPlugin } from "../types.js";
import { LiveOutput } from "./schema.js";
import { LIVE_FILES, LIVE_SIDECAR, LIVE_SIDECAR_FORMAT, type LiveSidecar } from "./sidecar.js";

async function writeLive(input: OutputInput<LiveOutput>): Promise<void> {
  const { output: o, env, scratch, name } = input;
  const arch = env.distro.arch;
  const files = await ramBootFiles("live output", input);
  const dir = join(scratch, "live");
  mkdirSync(dir, { recursive: true });
  placeFile(files.vmlinuz, join(dir, LIVE_FILES.vmlinuz));
  placeFile(files.initrd, join(dir, LIVE_FILES.initrd));

  env.reporter.status(`live ${name}: merging the layers into root.sqfs`);
  const root = join(dir, LIVE_FILES.root);
  await input.stack.withRoot((r) =>
    env.run("mksquashfs", squashfsArgs(r.nsPath, root, env.epoch), {
      onLine: (l) => env.reporter.detail(l),
    }),
  );
  const sidecar: LiveSidecar = {
    format: LIVE_SIDECAR_FORMAT,
    arch: arch as LiveSidecar["arch"],
    recipe: env.recipe.name,
    kernel: files.kernelVersion,
    cmdline: ramCmdline(o, arch, ["strata.live=auto"], false),
    console: (consoles(o, arch).at(-1) ?? "ttyS0").split(",")[0] as string,
    rootBytes: statSync(root).size,
  };
  writeFileSync(join(dir, LIVE_SIDECAR), `${JSON.stringify(sidecar, null, 2)}\n`);
  replaceDirectory(dir, input.target);
}

export const liveOutput: OutputPlugin<LiveOutput> = {
  type: "live",
  schema: LiveOutput,
  tools: () => ["mksquashfs"],
  fileName: (_o, name) => `${name}.live`,
  verify: (o, { recipe }) => kernelProblems(recipe, o, "live output"),
  layers: (_o, ctx) => ramBootLayers("live output", ctx),
  write: writeLive,
};
