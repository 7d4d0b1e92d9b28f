/**
 * `strata shell RECIPE [LAYER]`: an interactive shell (or one command, with `-c`) in a layer's
 * stacked root, for the foreign architecture too. The layers are built first if they are not
 * cached. Changes go to a tmpfs and are thrown away. Like a `run` step it has no network
 * unless asked (`--network`), and apt's shared caches are read-only.
 */

import { buildPlannedLayers, withBuildContext } from "../build/build.js";
import type { BuildOptions } from "../build/context.js";
import { shellInStack } from "../build/layer.js";
import { StrataError } from "../errors.js";
import { plan } from "../plan/plan.js";
import { outputTop } from "../recipe/outputs.js";

export async function shell(
  recipePath: string,
  layerName: string | undefined,
  command: string[],
  options: BuildOptions & { network?: boolean } = {},
): Promise<number> {
  return withBuildContext(
    recipePath,
    options,
    (recipe) => {
      if (layerName !== undefined && !recipe.layers.some((l) => l.name === layerName)) {
        throw new StrataError("E_USAGE", `no layer named '${layerName}'`, {
          hint: `layers are: ${recipe.layers.map((l) => l.name).join(", ")}`,
        });
      }
    },
    async (ctx, recipe) => {
      const p = await plan(recipe, ctx.settings, ctx.cache, options);
      const top = p.layers.find((l) => l.name === (layerName ?? outputTop(recipe.recipe)));
      const stack = top?.chain ?? [];
      const { entries } = await buildPlannedLayers(ctx, p, { only: stack });
      ctx.reporter.done();
      const modules = stack.map((n) => entries.get(n)?.module as string);
      return shellInStack(ctx, modules, command, { network: options.network });
    },
  );
}
