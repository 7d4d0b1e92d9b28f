import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { canonical, differences, digestOf } from "../../src/cache/canonical.js";

describe("canonical manifests", () => {
  it("does not depend on key order", () => {
    assert.equal(canonical({ b: 1, a: [1, { d: 2, c: 3 }] }), '{"a":[1,{"c":3,"d":2}],"b":1}');
    assert.equal(digestOf({ x: 1, y: 2 }), digestOf({ y: 2, x: 1 }));
    assert.notEqual(digestOf({ x: 1 }), digestOf({ x: 2 }));
  });

  it("names the fields that differ", () => {
    const before = {
      parent: "a",
      steps: [{ run: "x" }, { hostname: "h" }],
      distro: { suite: "trixie" },
    };
    const after = {
      parent: "b",
      steps: [{ run: "y" }, { hostname: "h" }, { run: "z" }],
      distro: { suite: "trixie" },
    };
    assert.deepEqual(differences(before, after), [
      "parent changed",
      "steps[0].run changed",
      "steps[2] added",
    ]);
    assert.deepEqual(differences(before, before), []);
  });
});
