/**
 * Canonical JSON (sorted keys, no whitespace) and its digest: the cache key of a layer is the
 * digest of the canonical form of every input, so equal inputs give equal keys everywhere.
 * Also the sha256 of a file (a module's content digest).
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

export function canonical(value: unknown): string {
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
}

export function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The sha256 of a file's bytes, read in 1 MiB chunks. */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }))
    hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export function digestOf(value: unknown): string {
  return sha256(canonical(value));
}

/** Paths (like `steps[1].run`) where two canonical JSON values differ, for --explain. */
export function differences(before: unknown, after: unknown, path = ""): string[] {
  if (canonical(before) === canonical(after)) return [];
  const isObj = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === "object" && !Array.isArray(v);
  if (Array.isArray(before) && Array.isArray(after)) {
    const out: string[] = [];
    const n = Math.max(before.length, after.length);
    for (let i = 0; i < n; i++) {
      const p = `${path}[${i}]`;
      if (i >= before.length) out.push(`${p} added`);
      else if (i >= after.length) out.push(`${p} removed`);
      else out.push(...differences(before[i], after[i], p));
    }
    return out;
  }
  if (isObj(before) && isObj(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => differences(before[k], after[k], path ? `${path}.${k}` : k));
  }
  return [`${path || "(root)"} changed`];
}
