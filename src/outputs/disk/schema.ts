/**
 * The options of `type: disk` (see ./index.ts for what each one does). Sizes are at most 16 TiB
 * (recipe/fields.ts); `cmdline` is one line that GRUB's config and a loader entry take as it is.
 */
import { z } from "zod";
import { outputCommon, sizeField } from "../../recipe/fields.js";

/** Extra kernel parameters: one line that GRUB's config, a loader entry and iPXE take as it is. */
export const cmdlineField = z
  .string()
  .max(2048)
  .regex(
    /^[^\x00-\x1f\x7f;$`\\{}|&<>#]*$/,
    "one line of kernel parameters, without ; $ ` \\ { } | & < > # (they mean something to GRUB's config and iPXE scripts)",
  )
  .default("")
  .describe("Extra kernel command line");

export const consoleField = z
  .array(z.string().regex(/^[A-Za-z0-9]+(,[0-9a-z]+)?$/, "a console such as ttyS0,115200"))
  .optional()
  .describe(
    "Kernel consoles, the last one primary; default: the screen and the serial port (ttyS0 on amd64, ttyAMA0 on arm64)",
  );

const ROOT_MODES = ["immutable", "persistent", "flat"] as const;

/** Raspberry Pi boards a disk can be made for (./board.ts). */
export const BOARDS = ["rpi3", "rpi4", "rpi5"] as const;
export type Board = (typeof BOARDS)[number];

/** One line of the Pi's config.txt, e.g. dtoverlay=disable-bt or gpu_mem=64. */
const configLine = z
  .string()
  .max(512)
  .regex(/^[^\x00-\x1f\x7f]*$/, "one line of config.txt (no newline)");

export const DiskOutput = z.strictObject({
  type: z.literal("disk"),
  ...outputCommon,
  table: z.enum(["gpt", "mbr"]).default("gpt").describe("Partition table"),
  boot: z
    .enum(["uefi", "bios"])
    .default("uefi")
    .describe("Firmware: uefi (systemd-boot) or bios (GRUB, amd64 only)"),
  filesystem: z
    .enum(["ext4", "btrfs"])
    .default("ext4")
    .describe("Filesystem of the store (or, with root: flat, of the root)"),
  root: z
    .enum(ROOT_MODES)
    .default("immutable")
    .describe(
      "immutable: layers + tmpfs upper; persistent: layers + upper on the store; flat: a classic writable root",
    ),
  size: sizeField
    .optional()
    .describe("Image size; default: what the layers need plus 25% and 256M"),
  esp_size: sizeField
    .default("256M")
    .describe("Size of the EFI system partition (uefi), or of a board's FAT boot partition"),
  board: z
    .enum(BOARDS)
    .optional()
    .describe(
      "A Raspberry Pi (arm64): an MBR image whose FAT boot partition holds the Pi's firmware " +
        "(raspi-firmware, from non-free-firmware), device trees, config.txt and cmdline.txt, " +
        "in place of `boot` and `table`",
    ),
  config: z
    .array(configLine)
    .max(256)
    .default([])
    .describe("Lines added to the end of the Pi's config.txt (with `board`)"),
  cmdline: cmdlineField,
  console: consoleField,
});
export type DiskOutput = z.output<typeof DiskOutput>;

/**
 * A disk's settings as its assembly reads them: a board's image is MBR, and its firmware is
 * the Pi's (`boot: rpi`) rather than UEFI or BIOS.
 */
export type DiskSettings = Omit<DiskOutput, "boot"> & { boot: DiskOutput["boot"] | "rpi" };

export function diskSettings(d: DiskOutput | DiskSettings): DiskSettings {
  return d.board ? { ...d, boot: "rpi", table: "mbr" } : d;
}

/** Whether the disk starts with a FAT partition: the ESP (uefi), or a Pi's boot partition. */
export const hasFatBoot = (d: Pick<DiskSettings, "boot">) => d.boot === "uefi" || d.boot === "rpi";
