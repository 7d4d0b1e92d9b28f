/**
 * Schema pieces shared by the recipe and by the output plugins' own schemas. They live apart
 * from recipe/schema.ts because that file assembles the output schemas: importing it back
 * from an output would be a cycle.
 */
import { z } from "zod";
import { MAX_SIZE, MAX_SIZE_TEXT, sizeBytes } from "./size.js";

/** Names of layers, outputs and stages: short, safe in file names and kernel command lines. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const nameField = z
  .string()
  .regex(NAME_PATTERN, "use lower-case letters, digits, '-' and '_' (at most 63 characters)");

/** Sizes as people write them: 2G, 512M, 1.5GiB, or a number of bytes; at most 16 TiB. */
export const SIZE_PATTERN = /^\d+(\.\d+)?\s*([KMGT](i?B)?)?$/i;
const tooLarge = `at most ${MAX_SIZE_TEXT} (${MAX_SIZE} bytes)`;
export const sizeField = z
  .union([
    z
      .string()
      .regex(SIZE_PATTERN, "a size such as 2G, 512M or 1.5GiB")
      .refine((s) => (sizeBytes(s) ?? 0) <= MAX_SIZE, `too large: a size is ${tooLarge}`),
    z
      .number()
      .int("a whole number of bytes, or a size such as 2G")
      .nonnegative()
      .max(MAX_SIZE, `too large: a size is ${tooLarge}`),
  ])
  .describe(`Bytes, or a size such as 2G, 512M, 1.5GiB; at most ${MAX_SIZE_TEXT}`);

/**
 * What is wrong with a mirror URL, or undefined: http or https only, printable ASCII with no
 * whitespace, control character or `#` anywhere, so the string is one word of an apt sources
 * line and can never add another line or option to it.
 */
export function urlProblem(value: string): string | undefined {
  if (!/^https?:\/\//i.test(value)) return "only http:// and https:// URLs are allowed";
  if (/[^\x21-\x7e]/.test(value)) {
    return "a URL may not hold spaces, newlines, control or non-ASCII characters";
  }
  if (value.includes("#")) return "a URL may not hold '#'";
  try {
    if (new URL(value).hostname === "") return "the URL names no host";
  } catch {
    return "not a URL";
  }
  return undefined;
}

export const urlField = z
  .string()
  .superRefine((value, ctx) => {
    const problem = urlProblem(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem, input: value, continue: false });
  })
  // For the JSON Schema only: the check above says more, and stops before this one.
  .regex(/^https?:\/\/[\x21-\x22\x24-\x7e]+$/i)
  .describe("An http:// or https:// URL");

/** Keys every output has. */
export const outputCommon = {
  layer: nameField.optional().describe("Top layer of this output; default: the last layer"),
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/)
    .max(200)
    .optional()
    .describe("File name under the output directory; default: the top layer's name"),
};
