/**
 * Resolves the layer graph: each layer's parent (its `from`, else the layer listed before it),
 * its chain from the bootstrap layer up, and its full list of steps in run order
 * (`packages`, `remove`, `stages`, then `steps`). Steps that stages expand into are parsed by
 * the same schema as written steps.
 */
import { definitionOf } from "../steps/index.js";
import type { FieldPath } from "./locate.js";
import type { Layer, Recipe, Step } from "./schema.js";
import { STEP_KINDS, type StepKind } from "./schema.js";
import { expandStage } from "./stages.js";
import { type Vars, varMap } from "./vars.js";

export interface PlannedStep {
  kind: StepKind;
  step: Step;
  /** Where the step came from, for messages: `layers[1].steps[0] (run: make install)`. */
  label: string;
  path: FieldPath;
}

export interface ResolvedLayer {
  name: string;
  /** Position in the recipe's `layers` list. */
  index: number;
  parent: string | undefined;
  /** Names from the bootstrap layer up to and including this one. */
  chain: string[];
  spec: Layer;
  steps: PlannedStep[];
}

export function stepKind(step: Step): StepKind {
  const key = Object.keys(step)[0];
  const kind = STEP_KINDS.find((k) => k === key);
  if (!kind) throw new Error(`not a step: ${JSON.stringify(step)}`);
  return kind;
}

/** `kind: <the step's own label>`, its first line, cut at 50 characters. */
function describe(kind: StepKind, step: Step): string {
  const text = definitionOf(kind).describe(step[kind]);
  const first = text.split("\n")[0]?.trim() ?? "";
  return `${kind}: ${first.length > 50 ? `${first.slice(0, 47)}...` : first}`;
}

export function planSteps(layer: Layer, index: number, vars: Readonly<Vars>): PlannedStep[] {
  const base: FieldPath = ["layers", index];
  const planned: PlannedStep[] = [];
  const add = (step: Step, path: FieldPath) => {
    const kind = stepKind(step);
    const where = path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
    planned.push({ kind, step, path, label: `${where.slice(1)} (${describe(kind, step)})` });
  };
  if (layer.packages?.length) add({ packages: layer.packages }, [...base, "packages"]);
  if (layer.remove?.length) add({ remove: layer.remove }, [...base, "remove"]);
  // A stage's steps are parsed like written ones (the recipe's checks have passed on them).
  const lookup = varMap(vars);
  layer.stages?.forEach((name, i) => {
    for (const step of expandStage(name, lookup)) add(step, [...base, "stages", i]);
  });
  layer.steps?.forEach((step, i) => {
    add(step, [...base, "steps", i]);
  });
  return planned;
}

/** Parents by name; assumes names are unique and `from` references exist (checked earlier). */
export function resolveLayers(recipe: Recipe, vars: Readonly<Vars>): ResolvedLayer[] {
  const byName = new Map(recipe.layers.map((l, i) => [l.name, { layer: l, index: i }]));
  const parentOf = (layer: Layer, index: number): string | undefined => {
    if (layer.bootstrap) return undefined;
    if (layer.from) return layer.from;
    return recipe.layers[index - 1]?.name;
  };
  const resolved = new Map<string, ResolvedLayer>();
  const visit = (name: string, seen: Set<string>): ResolvedLayer => {
    const done = resolved.get(name);
    if (done) return done;
    const entry = byName.get(name);
    if (!entry) throw new Error(`unknown layer ${name}`);
    if (seen.has(name)) throw new Error(`cycle at ${name}`);
    seen.add(name);
    const parent = parentOf(entry.layer, entry.index);
    const chain = parent ? [...visit(parent, seen).chain, name] : [name];
    const r: ResolvedLayer = {
      name,
      index: entry.index,
      parent,
      chain,
      spec: entry.layer,
      steps: planSteps(entry.layer, entry.index, vars),
    };
    resolved.set(name, r);
    return r;
  };
  // Build order: every parent before its children, otherwise the recipe's own order.
  const order: ResolvedLayer[] = [];
  const placed = new Set<string>();
  const place = (r: ResolvedLayer) => {
    if (placed.has(r.name)) return;
    if (r.parent) place(resolved.get(r.parent) as ResolvedLayer);
    placed.add(r.name);
    order.push(r);
  };
  for (const l of recipe.layers) place(visit(l.name, new Set()));
  return order;
}

/** The layer stack below and including `top`, bottom first. */
export function stackOf(layers: readonly ResolvedLayer[], top: string): ResolvedLayer[] {
  const byName = new Map(layers.map((l) => [l.name, l]));
  const target = byName.get(top);
  if (!target) throw new Error(`unknown layer ${top}`);
  return target.chain.map((n) => byName.get(n) as ResolvedLayer);
}
