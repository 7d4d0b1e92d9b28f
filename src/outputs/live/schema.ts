/** The options of `type: live` (see ./index.ts). */
import { z } from "zod";
import { outputCommon } from "../../recipe/fields.js";
import { cmdlineField, consoleField } from "../disk/schema.js";

export const LiveOutput = z.strictObject({
  type: z.literal("live"),
  ...outputCommon,
  cmdline: cmdlineField,
  console: consoleField,
});
export type LiveOutput = z.output<typeof LiveOutput>;
