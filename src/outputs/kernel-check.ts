/**
 * The verify pass's kernel check for outputs that boot: a stack in which no layer names a
 * `linux-image-*` package (as a package, or in a step's script) cannot boot, and is refused
 * before anything is built. A stack that runs stages is left to the build's own check (the
 * boot layer's precondition, E_NO_KERNEL), which sees the packages really installed.
 */
import { StrataError } from "../errors.js";
import type { Recipe } from "../recipe/schema.js";
import type { SemanticProblem } from "../recipe/verify.js";
import type { AddedLayer, AddLayersContext } from "./types.js";

/** The raw layers of the stack under `top`, top first (the recipe's own `from` chain). */
function rawStack(recipe: Recipe, top: string): Recipe["layers"] {
  const stack: Recipe["layers"] = [];
  let index = recipe.layers.findIndex((l) => l.name === top);
  const seen = new Set<number>();
  while (index >= 0 && !seen.has(index)) {
    seen.add(index);
    const layer = recipe.layers[index] as Recipe["layers"][number];
    stack.push(layer);
    if (layer.bootstrap) break;
    index = layer.from ? recipe.layers.findIndex((l) => l.name === layer.from) : index - 1;
  }
  return stack;
}

export function kernelProblems(
  recipe: Recipe,
  output: { layer?: string },
  what: string,
): SemanticProblem[] {
  const top = output.layer ?? recipe.layers.at(-1)?.name;
  if (top === undefined) return [];
  const stack = rawStack(recipe, top);
  if (stack.some((l) => (l.stages?.length ?? 0) > 0)) return [];
  // A package list that purges (`remove`) installs nothing.
  const installs = (l: object) =>
    JSON.stringify(l, (key, value: unknown) => (key === "remove" ? undefined : value));
  if (stack.some((l) => installs(l).includes("linux-image-"))) return [];
  return [
    {
      path: ["type"],
      message: `a ${what} boots a kernel, and no layer of its stack (${stack
        .map((l) => l.name)
        .reverse()
        .join(" → ")}) installs one`,
      hint: `add linux-image-${recipe.distro.arch} to the packages of one of these layers`,
    },
  ];
}

/**
 * The boot layer's precondition (E_NO_KERNEL): the packages installed below it include a
 * kernel. `what` names the output for the message ("disk output").
 */
export function kernelPrecondition(
  what: string,
  ctx: Pick<AddLayersContext, "stack" | "arch" | "name">,
): NonNullable<AddedLayer["precondition"]> {
  return (below) => {
    if (below.some((p) => p.name.startsWith("linux-image-"))) return;
    throw new StrataError(
      "E_NO_KERNEL",
      `${what} '${ctx.name}': no kernel in its layers (${ctx.stack.map((l) => l.name).join(" → ")})`,
      { hint: `add linux-image-${ctx.arch} to the packages of one of these layers` },
    );
  };
}
