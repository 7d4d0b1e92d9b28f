/** `strata validate`: the whole recipe checked, every problem reported, nothing built. */
import { resolvePlanLayers } from "../plan/plan.js";
import { loadRecipe } from "../recipe/load.js";
import type { Vars } from "../recipe/vars.js";

export interface ValidateResult {
  file: string;
  name: string;
  /** The recipe's layers, then the layers its outputs add (with `addedBy`) */
  layers: { name: string; parent: string | null; steps: string[]; addedBy?: string }[];
  outputs: { type: string; name: string; layer: string; file: string }[];
}

export function validate(path: string, set: Vars = {}): ValidateResult {
  const r = loadRecipe(path, { set });
  const { layers, outputs } = resolvePlanLayers(r);
  return {
    file: r.file,
    name: r.recipe.name,
    layers: layers.map((l) => ({
      name: l.name,
      parent: l.parent ?? null,
      steps: l.steps.map((s) => s.label),
      ...(l.addedBy ? { addedBy: `outputs[${l.addedBy.output}] (${l.addedBy.role} layer)` } : {}),
    })),
    outputs: outputs.map((o) => ({
      type: o.output.type,
      name: o.name,
      layer: o.top,
      file: o.file,
    })),
  };
}
