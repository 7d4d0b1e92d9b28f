/** The options of `type: dir` (see ./index.ts). */
import { z } from "zod";
import { outputCommon } from "../../recipe/fields.js";

export const DirOutput = z.strictObject({ type: z.literal("dir"), ...outputCommon });
export type DirOutput = z.output<typeof DirOutput>;
