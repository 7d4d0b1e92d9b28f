/** Layers the output tests build on. */
import type { ResolvedLayer } from "../../src/recipe/graph.js";

/** A layer `system` on `base`, with no steps of its own. */
export const systemLayer: ResolvedLayer = {
  name: "system",
  index: 1,
  parent: "base",
  chain: ["base", "system"],
  spec: { name: "system" },
  steps: [],
};
