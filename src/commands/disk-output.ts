/**
 * Which of a recipe's outputs `strata run` and `strata test` boot: the disk output with the
 * given name (an output's name is its `name:`, else its top layer's name), else the first disk
 * output. Checked before anything is built, so a typo costs no build.
 */
import type { BuildResult } from "../build/build.js";
import { StrataError } from "../errors.js";
import type { LoadedRecipe } from "../recipe/load.js";
import { outputName as nameOf } from "../recipe/outputs.js";

export interface DiskOutputChoice {
  /** Index among the recipe's outputs. */
  index: number;
  name: string;
}

export function outputName(recipe: LoadedRecipe, index: number): string {
  return nameOf(recipe.recipe, recipe.recipe.outputs[index] ?? {});
}

export function pickDiskOutput(recipe: LoadedRecipe, name?: string): DiskOutputChoice {
  const disks = recipe.recipe.outputs
    .map((o, index) => ({ type: o.type, index, name: outputName(recipe, index) }))
    .filter((o) => o.type === "disk")
    .map((o) => ({ index: o.index, name: o.name }));
  if (disks.length === 0) {
    throw new StrataError("E_USAGE", `recipe '${recipe.recipe.name}' has no disk output to boot`, {
      hint: "add one, e.g. outputs: [{ type: disk, boot: uefi, root: immutable }]",
    });
  }
  if (name === undefined) return disks[0] as DiskOutputChoice;
  const found = disks.find((d) => d.name === name);
  if (!found) {
    throw new StrataError(
      "E_USAGE",
      `recipe '${recipe.recipe.name}' has no disk output named '${name}'`,
      {
        hint: `its disk outputs are: ${disks.map((d) => d.name).join(", ")}`,
      },
    );
  }
  return found;
}

/** The built image of the chosen output. */
export function builtImage(result: BuildResult, choice: DiskOutputChoice): string {
  const built = result.outputs.find((o) => o.type === "disk" && o.name === choice.name);
  if (!built) {
    throw new StrataError(
      "E_OUTPUT",
      `the build did not produce the disk output '${choice.name}'`,
      {
        hint: "this is a bug in strata; please report it with the recipe",
      },
    );
  }
  return built.path;
}
