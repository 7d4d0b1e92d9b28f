/** Sizes as people write them in recipes and on the command line: 2G, 512M, 1.5GiB, bytes. */
import { StrataError } from "../errors.js";

export const MIB = 1024 ** 2;
const UNITS: Record<string, number> = { "": 1, K: 1024, M: MIB, G: 1024 ** 3, T: 1024 ** 4 };

export function parseSize(value: string | number): number {
  if (typeof value === "number") return value;
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(value.trim());
  if (!m) throw new StrataError("E_USAGE", `not a size: ${value}`, { hint: "e.g. 500M or 20G" });
  return Math.floor(Number(m[1]) * (UNITS[(m[2] ?? "").toUpperCase()] ?? 1));
}

export function formatMiB(bytes: number): string {
  return `${Math.ceil(bytes / MIB)} MiB`;
}
