/**
 * Cached modules on their way out of the cache. Before a build places a cached module anywhere
 * (its numbered file in the output directory, or an output it (re)writes, such as a disk's
 * store), the module's sha256 is checked against the digest the cache recorded; a damaged one
 * is evicted and the build plans again, so that layer and those above it are rebuilt. A no-op
 * build hashes nothing: its outputs are up to date and its numbered files are already the
 * cache's modules (hard links), or copies of them with the same size and mtime.
 */
import { constants, copyFileSync, linkSync, rmSync, statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import type { Cache, CacheEntry } from "../cache/store.js";
import type { BuildPlan, PlannedLayer } from "../plan/plan.js";
import { isUpToDate, outputKey } from "./output-stamps.js";

/** `01-base.sqfs`: the module's name in the output directory, numbered by depth. */
export const moduleFile = (layer: PlannedLayer) =>
  `${String(layer.chain.length).padStart(2, "0")}-${layer.name}.sqfs`;

/** Whether `target` already is `entry`'s module: the same file, or a copy made by placeModule. */
function isPlaced(entry: CacheEntry, target: string): boolean {
  try {
    const [a, b] = [statSync(entry.module), statSync(target)];
    if (a.dev === b.dev && a.ino === b.ino) return true;
    return b.isFile() && b.size === a.size && b.mtimeMs === a.mtimeMs;
  } catch {
    return false;
  }
}

/** Puts `entry`'s module at `target` (a hard link, else a copy with its mtime), unless it is there. */
export function placeModule(entry: CacheEntry, target: string): void {
  if (isPlaced(entry, target)) return;
  rmSync(target, { force: true });
  try {
    linkSync(entry.module, target);
  } catch {
    copyFileSync(entry.module, target, constants.COPYFILE_FICLONE);
    const { atime, mtime } = statSync(entry.module);
    utimesSync(target, atime, mtime);
  }
}

/**
 * Checks the digest of every cached module that this build will place into `out`: those of the
 * outputs that are not up to date, and those whose numbered file is not in place. Each is
 * hashed once (Cache.verify). Returns false when one was damaged (and evicted): plan again.
 */
export async function verifyModulesToPlace(
  cache: Cache,
  p: BuildPlan,
  out: string,
): Promise<boolean> {
  const byName = new Map(p.layers.map((l) => [l.name, l]));
  const names = new Set<string>();
  for (const o of p.outputs) {
    if (isUpToDate(out, o.file, outputKey(p, o))) continue;
    for (const n of [...o.stack, ...Object.values(o.added).flat()]) names.add(n);
  }
  for (const l of p.layers)
    if (!l.addedBy && l.cached && !isPlaced(l.cached, join(out, moduleFile(l)))) names.add(l.name);
  let good = true;
  for (const name of names) {
    const layer = byName.get(name);
    if (layer?.cached && !(await cache.verify(layer.key))) good = false;
  }
  return good;
}
