/**
 * `strata cache ls` and `strata cache gc`. gc keeps the layers that the given recipes' build
 * plans use now (the layers their outputs add, such as disks' boot layers, included) and, with
 * a size budget, removes the least recently used of the others until the cache fits. The
 * recipes are planned with the `--set` overrides given, as `strata build` would plan them.
 */

import { type BuildOptions, resolveSettings } from "../build/context.js";
import { Cache, defaultCacheDir } from "../cache/store.js";
import { StrataError } from "../errors.js";
import { plan } from "../plan/plan.js";
import { loadRecipe } from "../recipe/load.js";

export interface CacheItem {
  key: string;
  name: string;
  digest: string;
  bytes: number;
  created: string;
  lastUsed: string;
}

export function cacheList(cacheDir = defaultCacheDir()): CacheItem[] {
  return new Cache(cacheDir)
    .list()
    .map((e) => ({
      key: e.meta.key,
      name: e.meta.name,
      digest: `sha256:${e.meta.digest}`,
      bytes: e.meta.bytes,
      created: e.meta.created,
      lastUsed: e.lastUsed.toISOString(),
    }))
    .sort((a, b) => (a.lastUsed < b.lastUsed ? 1 : -1));
}

export interface GcOptions {
  cacheDir?: string;
  /** Keep every layer these recipes use now. */
  recipes?: string[];
  /** Then remove least recently used entries until the cache is at most this many bytes. */
  maxBytes?: number;
  mirror?: string;
  /** Variable overrides (`--set`) the recipes are built with. */
  set?: BuildOptions["set"];
}

export interface GcResult {
  removed: CacheItem[];
  kept: CacheItem[];
  freedBytes: number;
}

export async function cacheGc(options: GcOptions): Promise<GcResult> {
  const recipes = options.recipes ?? [];
  if (recipes.length === 0 && options.maxBytes === undefined) {
    throw new StrataError("E_USAGE", "cache gc needs recipes to keep, a --max-size, or both", {
      hint: "strata cache gc examples/minimal --max-size 10G",
    });
  }
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const cache = new Cache(cacheDir);
  const keep = new Set<string>();
  for (const path of recipes) {
    const recipe = loadRecipe(path, { set: options.set });
    const settings = await resolveSettings(recipe, { cacheDir, mirror: options.mirror });
    for (const { key } of (await plan(recipe, settings, cache)).layers) keep.add(key);
  }
  const lock = await cache.lock(() => {});
  try {
    const items = cacheList(cacheDir);
    const removed: CacheItem[] = [];
    // Never what the recipes use. Without a budget, all the rest goes; with one, the least
    // recently used of the rest go until the cache fits.
    let candidates = items.filter((i) => !keep.has(i.key));
    if (options.maxBytes !== undefined) {
      const budget = options.maxBytes;
      let total = items.reduce((n, i) => n + i.bytes, 0);
      candidates = [...candidates].reverse().filter((i) => {
        if (total <= budget) return false;
        total -= i.bytes;
        return true;
      });
    }
    for (const item of candidates) {
      cache.remove(item.key);
      removed.push(item);
    }
    const gone = new Set(removed.map((r) => r.key));
    return {
      removed,
      kept: items.filter((i) => !gone.has(i.key)),
      freedBytes: removed.reduce((n, i) => n + i.bytes, 0),
    };
  } finally {
    lock.release();
  }
}
