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

/** The types of output strata can boot. */
export type BootableType = "disk" | "iso" | "netboot" | "live";

const EXAMPLE: Record<BootableType, string> = {
  disk: "outputs: [{ type: disk, boot: uefi, root: immutable }]",
  netboot: 'outputs: [{ type: netboot, url: "http://${server}/" }]',
  live: "outputs: [{ type: live }]",
  iso: "outputs: [{ type: iso, installer: true }]",
};

/** The output of `type` named `name`, else the first of that type. */
export function pickOutput(
  recipe: LoadedRecipe,
  type: BootableType,
  name?: string,
): DiskOutputChoice {
  const found = recipe.recipe.outputs
    .map((o, index) => ({ type: o.type, index, name: outputName(recipe, index) }))
    .filter((o) => o.type === type)
    .map((o) => ({ index: o.index, name: o.name }));
  if (found.length === 0) {
    throw new StrataError(
      "E_USAGE",
      `recipe '${recipe.recipe.name}' has no ${type} output to boot`,
      {
        hint: `add one, e.g. ${EXAMPLE[type]}`,
      },
    );
  }
  if (name === undefined) return found[0] as DiskOutputChoice;
  const named = found.find((d) => d.name === name);
  if (!named) {
    throw new StrataError(
      "E_USAGE",
      `recipe '${recipe.recipe.name}' has no ${type} output named '${name}'`,
      { hint: `its ${type} outputs are: ${found.map((d) => d.name).join(", ")}` },
    );
  }
  return named;
}

export function pickDiskOutput(recipe: LoadedRecipe, name?: string): DiskOutputChoice {
  return pickOutput(recipe, "disk", name);
}

/** The built file or directory of the chosen output. */
export function builtOutput(
  result: BuildResult,
  type: BootableType,
  choice: DiskOutputChoice,
): string {
  const built = result.outputs.find((o) => o.type === type && o.name === choice.name);
  if (!built) {
    throw new StrataError(
      "E_OUTPUT",
      `the build did not produce the ${type} output '${choice.name}'`,
      { hint: "this is a bug in strata; please report it with the recipe" },
    );
  }
  return built.path;
}

/** The built image of the chosen disk output. */
export function builtImage(result: BuildResult, choice: DiskOutputChoice): string {
  return builtOutput(result, "disk", choice);
}
