/**
 * `strata plan RECIPE`: what `strata build` would do, without doing it: every layer (those the
 * outputs add included) with its key and whether its module is cached or why it would be
 * built, and every output with its stack. Reads the cache; takes no lock and needs no root.
 */
import { resolveSettings } from "../build/context.js";
import type { BuildOptions } from "../build/context.js";
import { Cache } from "../cache/store.js";
import { plan } from "../plan/plan.js";
import { loadRecipe } from "../recipe/load.js";

export interface PlanResult {
  recipe: string;
  layers: {
    name: string;
    parent: string | null;
    key: string;
    cached: boolean;
    reason: string;
    steps: string[];
    addedBy?: { output: string; role: string };
  }[];
  outputs: {
    type: string;
    name: string;
    file: string;
    layer: string;
    stack: string[];
    added: Record<string, string>;
  }[];
  /** Layers that would be built */
  toBuild: number;
}

export async function planRecipe(path: string, options: BuildOptions = {}): Promise<PlanResult> {
  const recipe = loadRecipe(path, { set: options.set });
  const settings = await resolveSettings(recipe, options);
  const p = await plan(recipe, settings, new Cache(settings.cacheDir), options);
  const outputName = (i: number) => p.outputs[i]?.name ?? String(i);
  return {
    recipe: recipe.recipe.name,
    layers: p.layers.map((l) => ({
      name: l.name,
      parent: l.parent ?? null,
      key: l.key,
      cached: l.cached !== undefined,
      reason: l.reason,
      steps: l.steps.map((s) => s.label),
      ...(l.addedBy
        ? { addedBy: { output: outputName(l.addedBy.output), role: l.addedBy.role } }
        : {}),
    })),
    outputs: p.outputs.map((o) => ({
      type: o.output.type,
      name: o.name,
      file: o.file,
      layer: o.top,
      stack: o.stack,
      added: Object.fromEntries(Object.entries(o.added).map(([role, s]) => [role, s.at(-1) ?? ""])),
    })),
    toBuild: p.layers.filter((l) => !l.cached).length,
  };
}
