/**
 * `strata test` (the command): a recipe without tests is refused with an example, before
 * anything is built. testImage itself is tested in test/testing/test-image.test.ts.
 */
import assert from "node:assert/strict";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { cli, tempDir, writeRecipe } from "../helpers.js";

const dir = tempDir("strata-testcmd-test-");
after(() => rmSync(dir, { recursive: true, force: true }));

describe("strata test (CLI)", () => {
  it("refuses a recipe without tests, with an example", () => {
    const recipe = writeRecipe(
      "name: untested\nlayers:\n  - name: base\n    bootstrap: { variant: minbase }\noutputs:\n  - { type: disk }\n",
    );
    const r = cli(["test", recipe, "--out", join(dir, "out")]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /error\[E_USAGE\]: recipe 'untested' has no tests/);
    assert.match(r.stderr, /hint: add a tests: section/);
    assert.equal(existsSync(join(dir, "out")), false);
  });
});
