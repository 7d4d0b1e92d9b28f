/**
 * Sizes as people write them in recipes and on the command line: 2G, 512M, 1.5GiB, bytes.
 * A recipe's sizes are at most MAX_SIZE (checked by `sizeField` in ./fields.ts); a command
 * line's at most Number.MAX_SAFE_INTEGER bytes, so every size is an exact whole number.
 */
import { StrataError } from "../errors.js";

export const MIB = 1024 ** 2;
const TIB = 1024 ** 4;
/** The largest size a recipe may give (a disk, a partition, guest memory): 16 TiB. */
export const MAX_SIZE = 16 * TIB;
export const MAX_SIZE_TEXT = "16T";

const UNITS: Record<string, number> = { "": 1, K: 1024, M: MIB, G: 1024 ** 3, T: TIB };
const SIZE = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i;

/** Bytes of a size, or undefined when `value` is not written as one. */
export function sizeBytes(value: string | number): number | undefined {
  if (typeof value === "number") return value;
  const m = SIZE.exec(value.trim());
  if (!m) return undefined;
  return Math.floor(Number(m[1]) * (UNITS[(m[2] ?? "").toUpperCase()] ?? 1));
}

export function parseSize(value: string | number): number {
  const bytes = sizeBytes(value);
  if (bytes === undefined) {
    throw new StrataError("E_USAGE", `not a size: ${value}`, { hint: "e.g. 500M or 20G" });
  }
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new StrataError("E_USAGE", `size ${value} is too large`, {
      hint: `sizes are at most ${Number.MAX_SAFE_INTEGER} bytes (8 PiB)`,
    });
  }
  return bytes;
}

export function formatMiB(bytes: number): string {
  return `${Math.ceil(bytes / MIB)} MiB`;
}
