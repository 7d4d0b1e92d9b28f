/**
 * Schema pieces shared by the recipe and by the output plugins' own schemas. They live apart
 * from recipe/schema.ts because that file assembles the output schemas: importing it back
 * from an output would be a cycle.
 */
import { z } from "zod";

/** Names of layers, outputs and stages: short, safe in file names and kernel command lines. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const nameField = z
  .string()
  .regex(NAME_PATTERN, "use lower-case letters, digits, '-' and '_' (at most 63 characters)");

/** Sizes as people write them: 2G, 512M, 1.5GiB, or a number of bytes. */
export const SIZE_PATTERN = /^\d+(\.\d+)?\s*([KMGT](i?B)?)?$/i;
export const sizeField = z
  .union([z.string().regex(SIZE_PATTERN, "a size such as 2G, 512M or 1.5GiB"), z.number().int()])
  .describe("Bytes, or a size such as 2G, 512M, 1.5GiB");

/** Keys every output has. */
export const outputCommon = {
  layer: nameField.optional().describe("Top layer of this output; default: the last layer"),
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/)
    .optional()
    .describe("File name under the output directory; default: the top layer's name"),
};
