// Stages expand to ordinary steps from the vars; what they expand to is checked like a written
// step, and a bad var is reported where its value was written (under vars, or at the stage
// for --set), before anything is built.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StrataError } from "../../src/errors.js";
import { loadRecipe } from "../../src/recipe/load.js";
import {
  expandStage,
  STAGE_NAMES,
  STAGES,
  stageOf,
  stageProblems,
} from "../../src/recipe/stages.js";
import { Step } from "../../src/recipe/schema.js";
import { writeRecipe } from "../helpers.js";

const recipe = (vars: string, stages: string) => `name: t
vars: { ${vars} }
layers:
  - name: base
    bootstrap: { variant: minbase }
  - name: sys
    stages: [${stages}]
`;

function problemsOf(path: string, set?: Record<string, string>) {
  try {
    loadRecipe(path, { set });
  } catch (e) {
    assert.ok(e instanceof StrataError, String(e));
    return e.problems;
  }
  assert.fail("expected the recipe to be rejected");
}

describe("stages", () => {
  it("expand to valid steps from good vars", () => {
    const vars = {
      hostname: "kiosk",
      timezone: "Europe/Berlin",
      locale: "en_US.UTF-8",
      ssh_authorized_keys: "ssh-ed25519 AAAA one\n\nssh-ed25519 BBBB two\n",
    };
    for (const name of STAGE_NAMES) {
      assert.deepEqual(stageProblems(name, { dir: "/", vars }), [], name);
      for (const step of STAGES[name]?.expand(new Map(Object.entries(vars))) ?? [])
        Step.parse(step);
    }
  });

  it("report a var that makes an invalid step at the var, naming the stage, with file and line", () => {
    const path = writeRecipe(recipe("hostname: 'bad_host!', timezone: UTC", "timezone, hostname"));
    const problems = problemsOf(path);
    assert.equal(problems.length, 1);
    const p = problems[0];
    assert.equal(p?.file, path);
    assert.equal(p?.line, 2);
    assert.equal(p?.path, "vars.hostname");
    assert.match(
      p?.message ?? "",
      /stage 'hostname' makes an invalid step from vars.hostname: hostname: a host name/,
    );
    assert.match(p?.message ?? "", /got 'bad_host!'/);
    assert.match(p?.message ?? "", /used by stage 'hostname' at layers\[1\]\.stages\[1\]/);
    assert.match(p?.hint ?? "", /hostname/);
  });

  it("report a bad value given with --set at the stage that uses it", () => {
    const path = writeRecipe(recipe("timezone: UTC", "timezone"));
    const problems = problemsOf(path, { timezone: "Mars/Olympus Mons" });
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.path, "layers[1].stages[0]");
    assert.equal(problems[0]?.line, 7);
    assert.match(
      problems[0]?.message ?? "",
      /stage 'timezone' makes an invalid step from --set timezone: timezone:/,
    );
    assert.match(problems[0]?.hint ?? "", /--set timezone/);
  });

  it("report one bad var once, however many stages use it", () => {
    const path = writeRecipe(`${recipe("hostname: 'x;id'", "hostname")}  - name: other
    from: base
    stages: [hostname]
`);
    const problems = problemsOf(path);
    assert.deepEqual(
      problems.map((p) => p.path),
      ["vars.hostname", "vars.hostname"],
      "one per stage entry (each names its own place)",
    );
  });

  it("give the steps they expand to in parsed form, from own vars only", () => {
    assert.deepEqual(expandStage("hostname", new Map([["hostname", "kiosk"]])), [
      { hostname: "kiosk" },
    ]);
    assert.equal(stageOf("constructor"), undefined);
    assert.match(
      stageProblems("toString", { dir: "/", vars: {} })[0]?.message ?? "",
      /unknown stage 'toString'/,
    );
  });

  it("report unknown stages and missing vars without expanding them", () => {
    assert.match(
      stageProblems("hostnam", { dir: "/", vars: {} })[0]?.hint ?? "",
      /did you mean 'hostname'/,
    );
    assert.deepEqual(
      stageProblems("hostname", { dir: "/", vars: {} }).map((p) => p.message),
      ["stage 'hostname' needs the variable 'hostname'"],
    );
  });
});
