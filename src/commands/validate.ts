/** `strata validate`: the whole recipe checked, every problem reported, nothing built. */
import { type LoadedRecipe, loadRecipe } from "../recipe/load.js";
import type { Vars } from "../recipe/vars.js";

export interface ValidateResult {
  file: string;
  name: string;
  layers: { name: string; parent: string | null; steps: string[] }[];
  outputs: { type: string; layer: string }[];
}

export function validate(path: string, set: Vars = {}): ValidateResult {
  const r: LoadedRecipe = loadRecipe(path, { set });
  return {
    file: r.file,
    name: r.recipe.name,
    layers: r.layers.map((l) => ({
      name: l.name,
      parent: l.parent ?? null,
      steps: l.steps.map((s) => s.label),
    })),
    outputs: r.recipe.outputs.map((o) => ({
      type: o.type,
      layer: o.layer ?? (r.recipe.layers.at(-1)?.name as string),
    })),
  };
}
