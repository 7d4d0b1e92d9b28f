/** Judging a check from its command's status and output. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { StrataError } from "../../src/errors.js";
import { TestCheck } from "../../src/recipe/schema.js";
import { compileChecks, evaluateCheck } from "../../src/testing/checks.js";

const check = (fields: Record<string, unknown>) =>
  TestCheck.parse({ name: "c", run: "true", ...fields });

describe("evaluateCheck", () => {
  it("passes on the expected status (default 0)", () => {
    assert.deepEqual(evaluateCheck(check({}), { status: 0, output: "" }), []);
    assert.deepEqual(evaluateCheck(check({ status: 3 }), { status: 3, output: "" }), []);
  });

  it("says which status it expected and which it got", () => {
    assert.deepEqual(evaluateCheck(check({}), { status: 1, output: "" }), [
      "expected status 0, got 1",
    ]);
  });

  it("matches output patterns per line (flag m), each of a list", () => {
    const c = check({ output: ["^active$", "^enabled$"] });
    assert.deepEqual(evaluateCheck(c, { status: 0, output: "active\nenabled\n" }), []);
    assert.deepEqual(evaluateCheck(c, { status: 0, output: "inactive\nenabled\n" }), [
      "output did not match /^active$/",
    ]);
  });

  it("fails when a not_output pattern matches", () => {
    const c = check({ not_output: "error|fail" });
    assert.deepEqual(evaluateCheck(c, { status: 0, output: "all fine" }), []);
    assert.deepEqual(evaluateCheck(c, { status: 0, output: "1 failed unit" }), [
      "output matched /error|fail/, which it must not",
    ]);
  });

  it("reports every reason at once", () => {
    const c = check({ output: "x", not_output: "y" });
    assert.equal(evaluateCheck(c, { status: 2, output: "y" }).length, 3);
  });
});

describe("compileChecks", () => {
  it("rejects a bad pattern, naming where it is", () => {
    assert.throws(
      () => compileChecks([check({}), check({ not_output: ["ok", "(unclosed"] })]),
      (e: StrataError) =>
        e.code === "E_RECIPE_INVALID" &&
        /tests\.checks\[1\]\.not_output\[1\]: not a regular expression/.test(e.message),
    );
  });
});
