/**
 * What every part of strata means by an output's top layer and name, computed in one place:
 * the top is the output's `layer`, else the recipe's last layer; the name is its `name`, else
 * the top layer's name.
 */
import type { Output, Recipe } from "./schema.js";

export function outputTop(recipe: Pick<Recipe, "layers">, output?: Pick<Output, "layer">): string {
  return output?.layer ?? (recipe.layers.at(-1)?.name as string);
}

export function outputName(
  recipe: Pick<Recipe, "layers">,
  output: Pick<Output, "layer" | "name">,
): string {
  return output.name ?? outputTop(recipe, output);
}
