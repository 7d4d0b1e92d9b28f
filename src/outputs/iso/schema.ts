/**
 * The options of `type: iso` (see ./index.ts). `disk` is the layout the installer writes (and
 * the ISO's live system boots from, read-only): a disk output's own settings.
 */
import { z } from "zod";
import { outputCommon } from "../../recipe/fields.js";
import { cmdlineField, consoleField } from "../disk/schema.js";

export const IsoOutput = z.strictObject({
  type: z.literal("iso"),
  ...outputCommon,
  firmware: z
    .array(z.enum(["uefi", "bios"]))
    .min(1)
    .optional()
    .describe("Firmware the ISO boots on; default uefi and bios on amd64, uefi on arm64"),
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
    })
    .default({ table: "gpt", boot: "uefi", filesystem: "ext4", root: "immutable" })
    .describe("The installed disk's layout (as a disk output's keys)"),
  cmdline: cmdlineField,
  console: consoleField,
});
export type IsoOutput = z.output<typeof IsoOutput>;
