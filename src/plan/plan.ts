/**
 * The build plan: everything a build will do, resolved before anything runs. Every layer (the
 * recipe's, and the layers outputs add, such as a disk's boot layer) with its cache key and
 * whether its module is cached or why it must be built; every output with its top layer, its
 * stack and the layers it added. `build`, `validate`, `plan`, `cache gc`, `shell`, `run` and
 * `test` all read it, and one loop (build/build.ts) carries it out.
 */
import type { Settings } from "../build/context.js";
import { type LayerManifest, layerKeys } from "../build/keys.js";
import type { Cache, CacheEntry, PackageRef } from "../cache/store.js";
import { StrataError } from "../errors.js";
import { outputPlugin } from "../outputs/index.js";
import { type ResolvedLayer, stackOf } from "../recipe/graph.js";
import type { LoadedRecipe } from "../recipe/load.js";
import { outputName, outputTop } from "../recipe/outputs.js";
import type { Output } from "../recipe/schema.js";
import { explainMiss, type IndexRecord } from "./explain.js";

export interface PlannedLayer extends ResolvedLayer {
  key: string;
  manifest: LayerManifest;
  /** Set for a layer an output added: which output, and the role it gave the layer. */
  addedBy?: { output: number; role: string };
  /** Checked against the packages of the layer below before this one is built. */
  precondition?: (below: readonly PackageRef[]) => void;
  /** The cached module that will be used; absent when the layer will be built. */
  cached?: CacheEntry;
  /** "cached", or why the layer will be built. */
  reason: string;
  /** Set when the layer's cached module was found damaged (src/cache/store.ts): what was wrong. */
  damaged?: string;
}

export interface PlannedOutput {
  /** Position in the recipe's `outputs` */
  index: number;
  output: Output;
  /** Its name: `name`, else the top layer's name */
  name: string;
  top: string;
  /** The output's layers, bottom first */
  stack: string[];
  /** Stacks (bottom first) of the layers the output added, by role */
  added: Record<string, string[]>;
  /** File or directory name under the output directory */
  file: string;
}

export interface BuildPlan {
  readonly recipe: LoadedRecipe;
  readonly settings: Settings;
  /** Build order: every layer after the one it sits on */
  readonly layers: readonly PlannedLayer[];
  readonly outputs: readonly PlannedOutput[];
}

export interface PlanOptions {
  /** Layers to build even when cached (and everything above them); "*" for all. */
  rebuild?: readonly string[];
}

/** The recipe's layers plus those its outputs add, and each output resolved. */
export function resolvePlanLayers(recipe: LoadedRecipe): {
  layers: (ResolvedLayer & Pick<PlannedLayer, "addedBy" | "precondition">)[];
  outputs: PlannedOutput[];
} {
  const layers: (ResolvedLayer & Pick<PlannedLayer, "addedBy" | "precondition">)[] = [
    ...recipe.layers,
  ];
  const byName = new Map(layers.map((l) => [l.name, l]));
  const outputs = recipe.recipe.outputs.map((output, index): PlannedOutput => {
    const top = outputTop(recipe.recipe, output);
    const name = outputName(recipe.recipe, output);
    const stack = stackOf(recipe.layers, top);
    const plugin = outputPlugin(output);
    const added: Record<string, string[]> = {};
    for (const a of plugin.layers?.(output, {
      stack,
      arch: recipe.recipe.distro.arch,
      name,
      recipe: recipe.recipe,
    }) ?? []) {
      added[a.role] = a.layer.chain;
      // Two outputs that add the same layer (same name: same settings, same place) share it.
      if (byName.has(a.layer.name)) continue;
      const layer = {
        ...a.layer,
        addedBy: { output: index, role: a.role },
        precondition: a.precondition,
      };
      layers.push(layer);
      byName.set(layer.name, layer);
    }
    const file = plugin.fileName(output, name);
    return { index, output, name, top, stack: stack.map((l) => l.name), added, file };
  });
  return { layers, outputs };
}

export async function plan(
  recipe: LoadedRecipe,
  settings: Settings,
  cache: Cache,
  options: PlanOptions = {},
): Promise<BuildPlan> {
  const { layers, outputs } = resolvePlanLayers(recipe);
  const rebuild = options.rebuild ?? [];
  for (const name of rebuild) {
    if (name !== "*" && !layers.some((l) => l.name === name)) {
      throw new StrataError("E_USAGE", `--rebuild ${name}: no such layer`, {
        hint: `layers are: ${layers.map((l) => l.name).join(", ")}`,
      });
    }
  }
  const keys = await layerKeys(settings, layers);
  const index = cache.readIndex(recipe.recipe.name) as Record<string, IndexRecord>;
  const building = new Set<string>();
  const planned: PlannedLayer[] = layers.map((layer) => {
    const { key, manifest } = keys.get(layer.name) as { key: string; manifest: LayerManifest };
    const forced = rebuild.some((n) => n === "*" || n === layer.name);
    const parentBuilt = layer.parent !== undefined && building.has(layer.parent);
    const cached = forced || parentBuilt ? undefined : cache.get(key);
    if (cached) return { ...layer, key, manifest, cached, reason: "cached" };
    building.add(layer.name);
    const damaged = forced || parentBuilt ? undefined : cache.damage(key);
    const reason = explainMiss(index[layer.name], manifest, key, {
      forced,
      parentRebuilt: parentBuilt ? layer.parent : undefined,
      damaged,
    });
    return { ...layer, key, manifest, reason, ...(damaged ? { damaged } : {}) };
  });
  return Object.freeze({ recipe, settings, layers: planned, outputs });
}

/** The planned layers of `names` (a stack), bottom first. */
export function layersOf(p: BuildPlan, names: readonly string[]): PlannedLayer[] {
  const byName = new Map(p.layers.map((l) => [l.name, l]));
  return names.map((n) => byName.get(n) as PlannedLayer);
}
