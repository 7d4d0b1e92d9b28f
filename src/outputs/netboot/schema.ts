/**
 * The options of `type: netboot` (see ./index.ts). `url` is where the directory will be served
 * from: http only, because the initramfs fetches with busybox's wget and QEMU's iPXE ROM has no
 * TLS; every file is checked against the sha256 its manifest gives instead.
 */
import { z } from "zod";
import { outputCommon, urlField } from "../../recipe/fields.js";
import { cmdlineField, consoleField } from "../disk/schema.js";

export const NetbootOutput = z.strictObject({
  type: z.literal("netboot"),
  ...outputCommon,
  url: urlField
    .refine(
      (u) => /^http:\/\//i.test(u),
      "an http:// URL (iPXE and the initramfs fetch without TLS)",
    )
    .describe("Where the directory is served from, e.g. http://${server}/kiosk (vars allowed)"),
  cmdline: cmdlineField,
  console: consoleField,
});
export type NetbootOutput = z.output<typeof NetbootOutput>;
