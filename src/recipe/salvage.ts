/**
 * The parts of a recipe that passed the schema, for the semantic checks (./verify.ts) when the
 * whole did not: `validate` reports every problem at once, not the schema's first and the rest
 * after a fix. Each list keeps its length and order (problems name positions); an entry that
 * did not parse is replaced by a stand-in that has no problems of its own, keeping the raw
 * names and references that the other checks need (`name`, `from`, `type`, `layer`). The
 * caller drops semantic problems at or under a place the schema already complained about.
 */
import { outputCommon } from "./fields.js";
import {
  Bootstrap,
  DebianBootstrap,
  Distro,
  Layer,
  Output,
  type Recipe,
  Step,
  TestCheck,
  Tests,
} from "./schema.js";

type Raw = Record<string, unknown>;
const objectOf = (v: unknown): Raw =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Raw) : {};
const listOf = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const text = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** A step that checks clean, in place of one that did not parse. */
const STAND_IN_STEP = Step.parse({ run: "true" });
const STAND_IN_CHECK = TestCheck.parse({ name: "-", run: "true" });

function layerPart(raw: unknown, i: number): Layer {
  const full = Layer.safeParse(raw);
  if (full.success) return full.data;
  const l = objectOf(raw);
  return {
    name: text(l.name) ?? `(layers[${i}])`,
    from: text(l.from),
    bootstrap:
      l.bootstrap === undefined
        ? undefined
        : (Bootstrap.safeParse(l.bootstrap).data ?? DebianBootstrap.parse({})),
    stages: l.stages === undefined ? undefined : listOf(l.stages).map((s) => text(s) ?? "cleanup"),
    steps:
      l.steps === undefined
        ? undefined
        : listOf(l.steps).map((s) => Step.safeParse(s).data ?? STAND_IN_STEP),
  };
}

function outputPart(raw: unknown, i: number): Output {
  const full = Output.safeParse(raw);
  if (full.success) return full.data;
  const o = objectOf(raw);
  // The same output with only the keys every output has, so its name still counts.
  const common = {
    type: o.type,
    layer: outputCommon.layer.safeParse(o.layer).data,
    name: outputCommon.name.safeParse(o.name).data,
  };
  return (
    Output.safeParse(common).data ?? { type: "dir", name: `\u0000outputs[${i}]`, layer: undefined }
  );
}

function testsPart(raw: unknown): Tests {
  const full = Tests.safeParse(raw);
  if (full.success) return full.data;
  const t = objectOf(raw);
  const checks = listOf(t.checks).map((c) => TestCheck.safeParse(c).data ?? STAND_IN_CHECK);
  return {
    ...Tests.parse({ checks: [{ name: "-", run: "true" }] }),
    output: text(t.output),
    checks,
  };
}

export function salvageRecipe(data: unknown): Recipe {
  const r = objectOf(data);
  return {
    name: "recipe",
    distro: Distro.safeParse(r.distro ?? {}).data ?? Distro.parse({}),
    vars: {},
    layers: listOf(r.layers).map(layerPart),
    outputs: listOf(r.outputs).map(outputPart),
    tests: r.tests === undefined ? undefined : testsPart(r.tests),
  };
}
