import assert from "node:assert/strict";
import { symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { StrataError } from "../../src/errors.js";
import { loadRecipe } from "../../src/recipe/load.js";
import { tempDir, writeRecipe } from "../helpers.js";

function problemsOf(path: string, set?: Record<string, string>) {
  try {
    loadRecipe(path, { set });
  } catch (e) {
    assert.ok(e instanceof StrataError, String(e));
    return { error: e, problems: e.problems };
  }
  assert.fail("expected the recipe to be rejected");
}

const BASE = `name: t
distro: { suite: trixie, arch: amd64 }
layers:
  - name: base
    bootstrap: { variant: minbase }
`;

describe("loadRecipe", () => {
  it("accepts the BRIEF's sketch keys and fills defaults", () => {
    const path = writeRecipe(
      `${BASE}  - name: app
    packages: [openssh-server]
    steps:
      - copy: { from: files/app, to: /opt/app }
      - run: systemctl enable app.service
outputs:
  - { type: dir }
`,
      { "files/app/run.sh": "#!/bin/sh\n" },
    );
    const r = loadRecipe(path);
    assert.equal(r.recipe.distro.suite, "trixie");
    assert.equal(r.recipe.distro.recommends, false);
    assert.deepEqual(
      r.layers.map((l) => [l.name, l.parent ?? null]),
      [
        ["base", null],
        ["app", "base"],
      ],
    );
    assert.deepEqual(
      r.layers[1]?.steps.map((s) => s.kind),
      ["packages", "copy", "run"],
    );
    assert.ok(Object.isFrozen(r.recipe));
  });

  it("reports an unknown key with line, column, path and a suggestion", () => {
    const { error, problems } = problemsOf(writeRecipe(`${BASE}    pakages: [vim]\n`));
    assert.equal(error.code, "E_RECIPE_INVALID");
    assert.equal(problems.length, 1);
    const p = problems[0];
    assert.equal(p?.line, 6);
    assert.equal(p?.column, 5);
    assert.equal(p?.path, "layers[0].pakages");
    assert.match(p?.hint ?? "", /did you mean 'packages'/);
  });

  it("reports every problem at once, in file order", () => {
    const { problems } = problemsOf(
      writeRecipe(`name: t
distro: { suite: bullsye, arch: amd65 }
layers:
  - name: base
    bootstrap: { variant: minbase, packages: notalist }
  - name: top
    steps:
      - run: 42
`),
    );
    const paths = problems.map((p) => p.path);
    assert.deepEqual(paths, [
      "distro.suite",
      "distro.arch",
      "layers[0].bootstrap.packages",
      "layers[1].steps[0].run",
    ]);
    assert.equal(problems[0]?.line, 2);
    assert.match(problems[0]?.hint ?? "", /trixie/);
    assert.match(problems[1]?.hint ?? "", /arm64/);
  });

  it("rejects an unknown `from` with a suggestion, and duplicate names", () => {
    const { problems } = problemsOf(
      writeRecipe(`${BASE}  - name: app
    from: bsae
  - name: app
`),
    );
    const from = problems.find((p) => p.path === "layers[1].from");
    assert.match(from?.message ?? "", /unknown layer 'bsae'/);
    assert.match(from?.hint ?? "", /did you mean 'base'/);
    assert.equal(from?.line, 7);
    const dup = problems.find((p) => p.path === "layers[2].name");
    assert.match(dup?.message ?? "", /duplicate layer name 'app'/);
  });

  it("finds cycles through `from`", () => {
    const { problems } = problemsOf(
      writeRecipe(`${BASE}  - name: a
    from: b
  - name: b
    from: a
`),
    );
    assert.equal(problems.length, 1);
    assert.match(problems[0]?.message ?? "", /cycle: a → b → a/);
  });

  it("requires the first layer to bootstrap", () => {
    const { problems } = problemsOf(
      writeRecipe("name: t\nlayers:\n  - name: top\n    packages: [vim]\n"),
    );
    assert.match(problems[0]?.message ?? "", /nothing to sit on/);
    assert.match(problems[0]?.hint ?? "", /bootstrap/);
  });

  it("rejects copy sources that are missing, absolute or outside the recipe's directory", () => {
    const outside = tempDir("strata-outside-");
    const path = writeRecipe(
      `${BASE}  - name: top
    steps:
      - copy: { from: nothere, to: /x }
      - copy: { from: ../../etc/passwd, to: /x }
      - copy: { from: /etc/passwd, to: /x }
      - copy: { from: link, to: /x }
`,
      { "ok.txt": "ok" },
    );
    symlinkSync(outside, join(dirname(path), "link"));
    const { problems } = problemsOf(path);
    const byStep = (i: number) => problems.find((p) => p.path.startsWith(`layers[1].steps[${i}]`));
    assert.match(byStep(0)?.message ?? "", /does not exist/);
    assert.match(byStep(1)?.message ?? "", /(outside|does not exist)/);
    assert.match(byStep(2)?.message ?? "", /absolute/);
    assert.match(byStep(3)?.message ?? "", /outside the recipe's directory/);

    const relative = problemsOf(
      writeRecipe(`${BASE}    steps:\n      - copy: { from: a, to: relative }\n`, { a: "" }),
    );
    assert.equal(relative.problems[0]?.path, "layers[0].steps[0].copy.to");
    assert.match(relative.problems[0]?.message ?? "", /absolute path/);
  });

  it("substitutes vars, takes --set overrides, and reports unknown ones", () => {
    const yaml = `name: t
vars: { host: box, zone: Europe/Berlin }
layers:
  - name: base
    bootstrap: { variant: minbase }
    steps:
      - hostname: \${host}
      - run: echo \${HOME} $\${host}
`;
    const r = loadRecipe(writeRecipe(yaml), { set: { host: "other" } });
    const steps = r.layers[0]?.steps.map((s) => s.step);
    assert.deepEqual(steps?.[0], { hostname: "other" });
    assert.deepEqual(steps?.[1], { run: "echo ${HOME} ${host}" });

    const { problems } = problemsOf(
      writeRecipe(yaml.replace("hostname: ${host}", "hostname: ${hots}")),
    );
    assert.match(problems[0]?.message ?? "", /unknown variable '\$\{hots\}'/);
    assert.match(problems[0]?.hint ?? "", /did you mean 'host'/);
    assert.equal(problems[0]?.line, 7);

    assert.throws(
      () => loadRecipe(writeRecipe(yaml), { set: { nope: "1" } }),
      (e: StrataError) => e.code === "E_USAGE" && /no variable 'nope'/.test(e.message),
    );
  });

  it("checks stages and the vars they need", () => {
    const { problems } = problemsOf(
      writeRecipe(`${BASE}  - name: sys
    stages: [hostname, serial-consol]
`),
    );
    assert.match(problems[0]?.message ?? "", /stage 'hostname' needs the variable 'hostname'/);
    assert.match(problems[1]?.hint ?? "", /did you mean 'serial-console'/);
  });

  it("reports YAML syntax errors with their place", () => {
    const { error, problems } = problemsOf(writeRecipe("name: t\nlayers: [\n  - a: b\n"));
    assert.equal(error.code, "E_RECIPE_YAML");
    assert.ok((problems[0]?.line ?? 0) >= 2);
  });

  it("rejects unknown output types and steps with two kinds", () => {
    const { problems } = problemsOf(
      writeRecipe(`${BASE}    steps:
      - { run: "true", hostname: x }
outputs:
  - { type: floppy }
`),
    );
    assert.ok(problems.some((p) => p.path === "outputs[0].type" && /dir, tar/.test(p.hint ?? "")));
    assert.ok(
      problems.some((p) => p.path === "layers[0].steps[0]" && /exactly one/.test(p.message)),
    );
  });

  it("checks disk outputs: BIOS only on amd64, sizes with units, known keys", () => {
    const arm = BASE.replace("arch: amd64", "arch: arm64");
    const { problems } = problemsOf(
      writeRecipe(`${arm}outputs:
  - { type: disk, boot: bios, size: 100 }
`),
    );
    const byPath = (path: string) => problems.find((p) => p.path === path);
    assert.match(byPath("outputs[0].boot")?.message ?? "", /bios is not supported on arm64/);
    assert.match(byPath("outputs[0].boot")?.hint ?? "", /uefi/);
    assert.match(byPath("outputs[0].size")?.message ?? "", /too small/);
    assert.equal(byPath("outputs[0].boot")?.line, 7);
    const typo = problemsOf(writeRecipe(`${BASE}outputs:\n  - { type: disk, esp_siz: 1G }\n`));
    assert.match(typo.problems[0]?.hint ?? "", /did you mean 'esp_size'/);
  });

  it("checks tests: a disk output to boot, its name, and the patterns", () => {
    const none = problemsOf(
      writeRecipe(`${BASE}tests:
  checks: [{ name: a, run: "true" }]
`),
    ).problems;
    assert.match(none[0]?.message ?? "", /tests need a disk output/);
    const { problems } = problemsOf(
      writeRecipe(`${BASE}outputs:
  - { type: disk, name: vm }
tests:
  output: mv
  checks:
    - { name: a, run: "true", output: "(unclosed" }
`),
    );
    assert.match(problems.find((p) => p.path === "tests.output")?.hint ?? "", /'vm'/);
    assert.ok(
      problems.some((p) => p.path === "tests.checks[0].output" && /regular/.test(p.message)),
    );
    const typo = problemsOf(
      writeRecipe(`${BASE}outputs: [{ type: disk }]
tests:
  checks: [{ name: b, run: "true", stauts: 1 }]
`),
    );
    assert.equal(typo.problems[0]?.path, "tests.checks[0].stauts");
    assert.match(typo.problems[0]?.hint ?? "", /did you mean 'status'/);
  });
});
