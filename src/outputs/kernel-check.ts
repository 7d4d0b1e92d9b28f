/**
 * The verify pass's kernel check for outputs that boot: a stack in which no layer names a
 * `linux-image-*` package (as a package, or in a step's script) cannot boot, and is refused
 * before anything is built. A stack that runs stages is left to the build's own check (the
 * boot layer's precondition, E_NO_KERNEL), which sees the packages really installed.
 */
import type { Recipe } from "../recipe/schema.js";
import type { SemanticProblem } from "../recipe/verify.js";

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
  if (stack.some((l) => JSON.stringify(l).includes("linux-image-"))) return [];
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
