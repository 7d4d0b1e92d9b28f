/**
 * How a build uses remote caches (`--cache-from`, `--cache-to`; ./remote.ts): the lookup order
 * is the local cache, then each `--cache-from` in turn. A layer that misses locally is pulled
 * from the first remote that has it (checked, then committed to the local cache), and the plan
 * is made again, so a pulled layer is as cached as a local one. After the build, every layer of
 * the plan that `--cache-to` lacks is pushed (one HEAD per blob: what it has is not sent).
 *
 * A remote that cannot be reached or refuses the credentials costs one warning line (with its
 * hint) and is not asked again in this build, for pulls and pushes alike (RemoteCache.down);
 * a pulled layer that is not what its key says is discarded with an error line naming it, and
 * built here.
 */
import { StrataError } from "../errors.js";
import type { Reporter } from "../progress.js";
import type { BuildPlan } from "../plan/plan.js";
import { RemoteCache } from "./remote.js";
import type { Cache, CacheEntry } from "./store.js";

/** Layer key → the remote it was pulled from. */
export type PulledFrom = Map<string, string>;

/**
 * Reports a remote's failure as one line. A registry that is down or refuses the credentials
 * is marked down (asked no more in this build, pulls and pushes alike); a layer it sent that
 * is not that layer costs only that layer.
 */
function report(reporter: Reporter, e: unknown, remote: RemoteCache): void {
  if (!(e instanceof StrataError)) throw e;
  if (e.code === "E_REMOTE_UNAVAILABLE" || e.code === "E_REMOTE_AUTH") {
    const hint = e.hint ? ` (hint: ${e.hint})` : "";
    reporter.warn(`error[${e.code}]: ${e.message}; going on without ${remote.ref}${hint}`);
    remote.down = true;
    return;
  }
  reporter.warn(`error[${e.code}]: ${e.message}`);
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
      if (remote.down) continue;
      reporter.status(`${layer.name}: looking in ${remote.ref}`);
      try {
        entry = await remote.pull(cache, layer.key, layer.name);
      } catch (e) {
        report(reporter, e, remote);
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

/**
 * Pushes every layer `entries` holds that `remote` lacks; returns the names of those sent. A
 * remote already found down in this build (by pullMissing too) is not asked.
 */
export async function pushAll(
  entries: ReadonlyMap<string, CacheEntry>,
  cache: Cache,
  remote: RemoteCache,
  reporter: Reporter,
): Promise<Set<string>> {
  const sent = new Set<string>();
  for (const [name, entry] of entries) {
    if (remote.down) break;
    reporter.status(`${name}: pushing to ${remote.ref}`);
    try {
      if ((await remote.push(cache, entry)) === "pushed") {
        sent.add(name);
        reporter.info(`${name}: pushed to ${remote.ref}`);
      }
    } catch (e) {
      report(reporter, e, remote);
    }
  }
  return sent;
}
