/**
 * A layer that an output adds to the build (a disk's boot layer, its update layer): built and
 * cached like a recipe's own layer, on top of the layer `on`, from steps the output writes.
 */
import { type PlannedStep, type ResolvedLayer, stepKind } from "../recipe/graph.js";
import type { Step } from "../recipe/schema.js";

/** `what` names the layer in step labels ("boot layer"); `field` is where problems point. */
export function addedLayer(
  on: ResolvedLayer,
  name: string,
  steps: Step[],
  what: string,
  field: string,
): ResolvedLayer {
  const planned: PlannedStep[] = steps.map((step, i) => {
    const kind = stepKind(step);
    return { kind, step, path: [field], label: `${what} step ${i + 1} (${kind})` };
  });
  return {
    name,
    index: -1,
    parent: on.name,
    chain: [...on.chain, name],
    spec: { name, steps },
    steps: planned,
  };
}
