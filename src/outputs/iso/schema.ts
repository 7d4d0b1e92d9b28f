/**
 * The options of `type: iso` (see ./index.ts). `disk` is the layout the installer writes (and
 * the ISO's live system boots from, read-only): a disk output's own settings.
 */
import { z } from "zod";
import { outputCommon, sizeField } from "../../recipe/fields.js";
import { cmdlineField, consoleField } from "../disk/schema.js";

export const IsoOutput = z.strictObject({
  type: z.literal("iso"),
  ...outputCommon,
  firmware: z
    .array(z.enum(["uefi", "bios"]))
    .min(1)
    .optional()
    .describe("Firmware the ISO boots on; default uefi and bios on amd64, uefi on arm64"),
  hybrid: z
    .boolean()
    .default(true)
    .describe(
      "Also a disk image for USB sticks (a partition table beside El Torito); false: a CD-only ISO",
    ),
  persistence: z
    .boolean()
    .default(false)
    .describe(
      "Keep the live system's changes on a partition labelled strata-persist: made on first boot in the free space of a USB stick the ISO was written to",
    ),
  installer: z
    .boolean()
    .default(false)
    .describe("Put strata-install in the live system: it writes the disk layout to a disk"),
  disk: z
    .strictObject({
      table: z.enum(["gpt", "mbr"]).default("gpt"),
      boot: z.enum(["uefi", "bios"]).default("uefi"),
      filesystem: z.enum(["ext4", "btrfs"]).default("ext4"),
      root: z.enum(["immutable", "persistent"]).default("immutable"),
      // The ISO holds the ESP at full size (ISO 9660 has no sparse files); the installed disk
      // keeps it, with room for the kernels of later versions.
      esp_size: sizeField
        .optional()
        .describe(
          "The installed disk's EFI system partition (default 256M): the ISO holds it whole",
        ),
    })
    .default({ table: "gpt", boot: "uefi", filesystem: "ext4", root: "immutable" })
    .describe("The installed disk's layout (as a disk output's keys)"),
  cmdline: cmdlineField,
  console: consoleField,
});
export type IsoOutput = z.output<typeof IsoOutput>;
