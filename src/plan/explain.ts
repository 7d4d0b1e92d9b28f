/**
 * Why a layer is not in the cache (mkosi's --explain): the cache's index records, per recipe
 * and layer, the key and input manifest it was last built from; a miss diffs that manifest
 * against the new one and names what changed. A module found damaged (src/cache/store.ts) says
 * so.
 */
import { differences } from "../cache/canonical.js";

export interface IndexRecord {
  key: string;
  manifest: unknown;
}

export function explainMiss(
  previous: IndexRecord | undefined,
  manifest: unknown,
  key: string,
  why: { forced: boolean; parentRebuilt?: string; damaged?: string },
): string {
  if (why.forced) return "rebuilt: forced by --rebuild";
  if (why.damaged) return `rebuilt: its cached module is damaged (${why.damaged})`;
  if (!previous) return "built: no earlier build of this layer is recorded in the cache";
  if (previous.key === key) {
    return why.parentRebuilt
      ? `rebuilt: layer '${why.parentRebuilt}' below it is rebuilt`
      : "built: its cached module was removed (cache gc?)";
  }
  const changed = differences(previous.manifest, manifest).filter((d) => !d.startsWith("parent "));
  const parts: string[] = [];
  if (why.parentRebuilt) parts.push(`layer '${why.parentRebuilt}' below it was rebuilt`);
  if (changed.length > 0) parts.push(`changed: ${changed.join(", ")}`);
  return `rebuilt: ${parts.join("; ") || "its inputs changed"}`;
}

/** What a build knows of where one of its layers came from (a LayerResult). */
export interface LayerOrigin {
  cached: boolean;
  reason: string;
  /** The remote cache (--cache-from) it was pulled from */
  pulledFrom?: string;
  /** The remote cache (--cache-to) this build pushed it to */
  pushedTo?: string;
}

/**
 * Where a built layer came from, for --explain once the build is done: the local cache, a
 * remote (pulled from REF) or built here (why), and whether this build pushed it.
 */
export function explainOrigin(layer: LayerOrigin): string {
  const from = layer.pulledFrom
    ? `pulled from ${layer.pulledFrom}`
    : layer.cached
      ? "local cache hit"
      : layer.reason;
  return layer.pushedTo ? `${from}; pushed to ${layer.pushedTo}` : from;
}
