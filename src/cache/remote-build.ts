/**
 * How a build uses remote caches (`--cache-from`, `--cache-to`; ./remote.ts): the lookup order
 * is the local cache, then each `--cache-from` in turn. A layer that misses locally is pulled
 * from the first remote that has it (checked, then committed to the local cache), and the plan
 * is made again, so a pulled layer is as cached as a local one. After the build, every layer of
 * the plan that `--cache-to` lacks is pushed (one HEAD per blob: what it has is not sent).
 *
 * A remote that cannot be reached or refuses costs one warning line and is not asked again in
 * this build; a pulled layer that is not what its key says is discarded with an error line
 * naming it, and built here.
 */
import { StrataError } from "../errors.js";
import type { Reporter } from "../progress.js";
import type { BuildPlan } from "../plan/plan.js";
import { RemoteCache } from "./remote.js";
import type { Cache, CacheEntry } from "./store.js";

/** Layer key → the remote it was pulled from. */
export type PulledFrom = Map<string, string>;

/** Reports a remote's failure as one line; true when the remote is down (ask it no more). */
function report(reporter: Reporter, e: unknown, remote: RemoteCache): boolean {
  if (!(e instanceof StrataError)) throw e;
  if (e.code === "E_REMOTE_UNAVAILABLE") {
    reporter.warn(`${e.message}; going on without ${remote.ref}`);
    return true;
  }
  reporter.warn(`error[${e.code}]: ${e.message}`);
  return false;
}

/**
 * Pulls the plan's missing layers, bottom first: a layer whose parent is built here is built
 * here too (its parent's module may differ byte for byte), so it is not looked up.
 */
export async function pullMissing(
  p: BuildPlan,
  cache: Cache,
  remotes: readonly RemoteCache[],
  reporter: Reporter,
  rebuild: readonly string[] = [],
): Promise<PulledFrom> {
  const pulled: PulledFrom = new Map();
  const down = new Set<RemoteCache>();
  const built = new Set<string>();
  for (const layer of p.layers) {
    const parentBuilt = layer.parent !== undefined && built.has(layer.parent);
    const forced = rebuild.some((n) => n === "*" || n === layer.name);
    if (layer.cached || forced) {
      if (!layer.cached) built.add(layer.name);
      continue;
    }
    let entry: CacheEntry | undefined;
    for (const remote of parentBuilt ? [] : remotes) {
      if (down.has(remote)) continue;
      reporter.status(`${layer.name}: looking in ${remote.ref}`);
      try {
        entry = await remote.pull(cache, layer.key, layer.name);
      } catch (e) {
        if (report(reporter, e, remote)) down.add(remote);
      }
      if (entry) {
        pulled.set(layer.key, remote.ref);
        reporter.info(
          `${layer.name}: pulled from ${remote.ref} (${(entry.meta.bytes / 1048576).toFixed(1)} MiB)`,
        );
        break;
      }
    }
    if (!entry) built.add(layer.name);
  }
  return pulled;
}

/** Pushes every layer `entries` holds that `remote` lacks; returns how many were sent. */
export async function pushAll(
  entries: ReadonlyMap<string, CacheEntry>,
  cache: Cache,
  remote: RemoteCache,
  reporter: Reporter,
): Promise<number> {
  let sent = 0;
  for (const [name, entry] of entries) {
    reporter.status(`${name}: pushing to ${remote.ref}`);
    try {
      if ((await remote.push(cache, entry)) === "pushed") {
        sent++;
        reporter.info(`${name}: pushed to ${remote.ref}`);
      }
    } catch (e) {
      if (report(reporter, e, remote)) break;
    }
  }
  return sent;
}
