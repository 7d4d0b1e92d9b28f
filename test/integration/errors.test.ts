/**
 * Bad input through the CLI: a non-zero exit, a message that names the place, and nothing new in
 * the cache. Step failures name the step and show the tool's own message.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { cli, mountsUnder, needsRoot, TEST_CACHE, tempDir, writeRecipe } from "../helpers.js";

const BASE = `name: bad
distro: { suite: trixie, arch: amd64 }
layers:
  - name: base
    bootstrap: { variant: minbase, packages: [ca-certificates] }
`;

const layersIn = (cache: string) =>
  existsSync(join(cache, "layers")) ? readdirSync(join(cache, "layers")) : [];

describe("bad recipes are refused before anything is built", () => {
  const cache = tempDir("strata-cache-");
  after(() => rmSync(cache, { recursive: true, force: true }));

  const cases: [string, string, RegExp][] = [
    [
      "unknown key",
      `${BASE}    pakages: [vim]\n`,
      /strata\.yaml:6:5: layers\[0\]\.pakages: unknown key 'pakages'\n\s+hint: did you mean 'packages'\?/,
    ],
    [
      "wrong type",
      `${BASE}    packages: vim\n`,
      /strata\.yaml:6:15: layers\[0\]\.packages: Invalid input: expected array/,
    ],
    [
      "unknown from",
      `${BASE}  - name: top\n    from: bsae\n`,
      /strata\.yaml:7:11: layers\[1\]\.from: unknown layer 'bsae'\n\s+hint: did you mean 'base'\?/,
    ],
    [
      "cycle",
      `${BASE}  - name: a\n    from: b\n  - name: b\n    from: a\n`,
      /layers form a cycle: a → b → a/,
    ],
    [
      "duplicate name",
      `${BASE}  - name: base\n`,
      /strata\.yaml:6:11: layers\[1\]\.name: duplicate layer name 'base'/,
    ],
    [
      "missing copy source",
      `${BASE}    steps:\n      - copy: { from: nope, to: /x }\n`,
      /layers\[0\]\.steps\[0\]\.copy\.from: 'nope' does not exist/,
    ],
    [
      "copy escaping the recipe",
      `${BASE}    steps:\n      - copy: { from: ../.., to: /x }\n`,
      /copy\.from: '\.\.\/\.\.' is outside the recipe's directory/,
    ],
    [
      "unknown suite",
      BASE.replace("trixie", "trixy"),
      /strata\.yaml:2:18: distro\.suite: 'trixy' is not allowed here\n\s+hint: did you mean 'trixie'\? one of: /,
    ],
    [
      "unknown architecture",
      BASE.replace("amd64", "sparc"),
      /distro\.arch: 'sparc' is not allowed here\n\s+hint: one of: amd64, arm64, armhf/,
    ],
  ];
  for (const [what, yaml, message] of cases) {
    it(what, () => {
      const recipe = writeRecipe(yaml);
      for (const args of [["validate"], ["build", "--cache-dir", cache, "--out", tempDir()]]) {
        const command = args[0];
        const r = cli([...args, recipe]);
        assert.equal(r.code, 1, `${command} should fail:\n${r.stderr}`);
        assert.match(r.stderr, /error\[E_RECIPE_INVALID\]/);
        assert.match(r.stderr, message);
      }
      assert.deepEqual(layersIn(cache), []);
    });
  }

  it("reports all problems of a recipe at once, as JSON too", () => {
    const recipe = writeRecipe(BASE.replace("trixie", "trixy").replace("amd64", "sparc"));
    const r = cli(["validate", recipe, "--json"]);
    assert.equal(r.code, 1);
    const out = JSON.parse(r.stdout);
    assert.equal(out.ok, false);
    assert.deepEqual(
      out.error.problems.map((p: { path: string }) => p.path),
      ["distro.suite", "distro.arch"],
    );
  });

  it("rejects a bad --set and unknown commands with usage errors", () => {
    assert.equal(cli(["validate", writeRecipe(BASE), "--set", "nope=1"]).code, 2);
    assert.equal(cli(["frobnicate"]).code, 2);
  });
});

describe("failing steps name the step and show the tool's message", { skip: needsRoot }, () => {
  const out = tempDir("strata-out-");
  after(() => rmSync(out, { recursive: true, force: true }));

  it("a run step that exits non-zero", () => {
    const recipe = writeRecipe(`${BASE}  - name: top
    steps:
      - write: { path: /etc/ok, content: fine }
      - run: |
          echo "about to fail"
          exit 3
`);
    const r = cli(["build", recipe, "--cache-dir", TEST_CACHE, "--out", out]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /error\[E_STEP_FAILED\]: layer 'top', step layers\[1\]\.steps\[1\] \(run: echo "about to fail"\) failed with exit code 3/,
    );
    assert.match(r.stderr, /about to fail/);
    assert.deepEqual(mountsUnder(TEST_CACHE), []);
  });

  it("an unknown package, with apt's own words", () => {
    const recipe = writeRecipe(`${BASE}  - name: top
    packages: [strata-no-such-package]
`);
    const r = cli(["build", recipe, "--cache-dir", TEST_CACHE, "--out", out]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /step layers\[1\]\.packages \(packages: strata-no-such-package\) failed/,
    );
    assert.match(r.stderr, /E: Unable to locate package strata-no-such-package/);
  });

  it("an unknown package in the bootstrap", () => {
    const recipe = writeRecipe(BASE.replace("[ca-certificates]", "[strata-no-such-package]"));
    const r = cli(["build", recipe, "--cache-dir", TEST_CACHE, "--out", out]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /error\[E_BOOTSTRAP_FAILED\]: layers\[0\]\.bootstrap: mmdebstrap failed/,
    );
    assert.match(r.stderr, /strata-no-such-package/);
  });
});
