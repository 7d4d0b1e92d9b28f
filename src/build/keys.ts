/**
 * A layer's cache key: the digest of a canonical manifest of every input that can change its
 * bytes: the parent's key, the distro settings and mirror, the bootstrap and steps (after vars
 * substitution), the content of every file a `copy` step brings in, the squashfs settings, the
 * timestamp epoch and strata's layer-format version. A layer's key changes when anything below
 * it changes, so a miss rebuilds that layer and every layer above it, never one below.
 */
import { digestOf } from "../cache/canonical.js";
import type { ResolvedLayer } from "../recipe/graph.js";
import { stepCacheInput } from "../steps/index.js";
import { imageDigest, parseOciSource } from "../oci/source.js";
import { type Bootstrap, isOciBootstrap } from "../recipe/schema.js";
import { LAYER_FORMAT, type Settings, SQUASHFS, sourcesLines } from "./context.js";

export interface LayerManifest {
  format: string;
  parent: string | null;
  distro: Settings["distro"] & { sources: string[] };
  squashfs: typeof SQUASHFS;
  epoch: number;
  bootstrap: unknown;
  steps: unknown[];
}

export async function layerManifest(
  settings: Settings,
  layer: ResolvedLayer,
  parentKey: string | undefined,
): Promise<LayerManifest> {
  // Each step says what its key covers (a copy adds its content's digest).
  const env = { recipeDir: settings.recipe.dir };
  const steps = await Promise.all(layer.steps.map((s) => stepCacheInput(s.kind, s.step, env)));
  return {
    format: LAYER_FORMAT,
    parent: parentKey ?? null,
    distro: { ...settings.distro, sources: sourcesLines(settings.distro) },
    squashfs: SQUASHFS,
    epoch: settings.epoch,
    bootstrap: await bootstrapInput(settings, layer.spec.bootstrap),
    steps,
  };
}

/**
 * What a key covers of a bootstrap: its options; for an OCI image also the image's digest, so
 * that a tag that moves (or an archive written again) is a new key.
 */
async function bootstrapInput(settings: Settings, bootstrap: Bootstrap | undefined) {
  if (!isOciBootstrap(bootstrap)) return bootstrap ?? null;
  const source = parseOciSource(bootstrap.oci, settings.recipe.dir);
  return {
    ...bootstrap,
    digest: await imageDigest(source, settings.distro.arch, settings.registry),
  };
}

/** The image digest a layer's manifest covers (a layer with `bootstrap: { oci }`). */
export function ociDigestOf(manifest: unknown): string {
  const digest = (manifest as { bootstrap?: { digest?: unknown } }).bootstrap?.digest;
  if (typeof digest !== "string") throw new Error("the layer's manifest has no image digest");
  return digest;
}

export interface LayerKey {
  key: string;
  manifest: LayerManifest;
}

/** Keys of all `layers` (parents first, as `resolveLayers` orders them). */
export async function layerKeys(
  settings: Settings,
  layers: readonly ResolvedLayer[],
): Promise<Map<string, LayerKey>> {
  const keys = new Map<string, LayerKey>();
  for (const layer of layers) {
    const parentKey = layer.parent ? keys.get(layer.parent)?.key : undefined;
    const manifest = await layerManifest(settings, layer, parentKey);
    keys.set(layer.name, { key: digestOf(manifest), manifest });
  }
  return keys;
}
