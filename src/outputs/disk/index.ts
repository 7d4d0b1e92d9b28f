/**
 * `type: disk`: a raw, sparse disk image that boots on PCs and in QEMU, with a `.bmap` beside
 * it (for `bmaptool copy`) and `<name>.img.json` describing how to boot it.
 *
 *   - { type: disk }                                  GPT, UEFI (systemd-boot), ext4 store,
 *                                                     immutable root: layers + changes in RAM
 *   - { type: disk, root: persistent }                changes kept on the store
 *   - { type: disk, table: mbr, boot: bios, filesystem: btrfs, root: flat, size: 4G }
 *
 * Keys: `table` gpt|mbr, `boot` uefi|bios (bios: amd64 only), `filesystem` ext4|btrfs,
 * `root` immutable|persistent|flat, `size` (default: what the layers need plus room),
 * `esp_size` (default 256M), `cmdline` (extra kernel command line), `console` (kernel
 * consoles, the last one primary; default the screen and ttyS0 or, on arm64, ttyAMA0).
 *
 *   - { type: disk, board: rpi4, config: [dtparam=audio=on] }
 *
 * `board` rpi3|rpi4|rpi5 makes an SD-card image for a Raspberry Pi (arm64) instead: MBR, a
 * FAT boot partition (`esp_size`) with the firmware (raspi-firmware, non-free-firmware), the
 * kernel's device trees, raspi-firmware's overlays, config.txt (`config` lines at its end) and
 * cmdline.txt, the kernel and strata's initramfs; the store or flat root as on a PC (./board.ts).
 *
 * The layered modes keep the stack's layer modules on a store partition (./store.ts) that the
 * strata boot script in the initramfs stacks at boot; `flat` writes the merged tree as a
 * classic root filesystem. The kernel, the initramfs (with the boot script) and the boot
 * loader's files come from a boot layer (./boot-layer.ts) that this output adds to the build
 * plan on the kernel's layer; that layer is not part of the image. On first boot the data
 * partition and its filesystem grow to fill a larger disk. Everything is assembled in files
 * (./assemble.ts): mkfs.vfat + mtools, mkfs.ext4 -d, mkfs.btrfs --rootdir, sfdisk on the
 * image file, dd into place; nothing is loop-mounted but the read-only layers.
 */
import type { ToolName } from "../../host/tools.js";
import { kernelPrecondition } from "../kernel-check.js";
import type { AddedLayer, OutputPlugin } from "../types.js";
import { assembleDisk } from "./assemble.js";
import { BOOT_ROLE, bootLayer, kernelLayerOf } from "./boot-layer.js";
import { DiskOutput, diskSettings, hasFatBoot } from "./schema.js";
import { UPDATE_ROLE, updateLayer } from "./update-layer.js";
import { verifyDisk } from "./verify.js";

export const diskOutput: OutputPlugin<DiskOutput> = {
  type: "disk",
  schema: DiskOutput,
  tools(output) {
    const d = diskSettings(output);
    const tools: ToolName[] = ["mount", "sfdisk", "bmaptool"];
    tools.push(d.filesystem === "btrfs" ? "mkfsBtrfs" : "mkfsExt4");
    if (hasFatBoot(d)) tools.push("mkfsVfat", "mcopy", "mmd");
    return tools;
  },
  fileName: (_d, name) => `${name}.img`,
  verify: verifyDisk,
  layers(d, ctx) {
    const { stack, recipe } = ctx;
    const top = stack.at(-1);
    const update: AddedLayer[] =
      recipe.update && d.root !== "flat" && top
        ? [{ role: UPDATE_ROLE, layer: updateLayer(top, recipe) }]
        : [];
    return [
      ...update,
      {
        role: BOOT_ROLE,
        layer: bootLayer(kernelLayerOf(stack), diskSettings(d)),
        precondition: kernelPrecondition("disk output", ctx),
      },
    ];
  },
  write: async (input) => {
    await assembleDisk(input);
  },
};
