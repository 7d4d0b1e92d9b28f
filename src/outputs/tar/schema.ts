/** The options of `type: tar` (see ./index.ts). */
import { z } from "zod";
import { outputCommon } from "../../recipe/fields.js";

export const TarOutput = z.strictObject({
  type: z.literal("tar"),
  ...outputCommon,
  compression: z.enum(["none", "gzip", "zstd"]).default("zstd"),
});
export type TarOutput = z.output<typeof TarOutput>;
