import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { stackOf } from "../../src/recipe/graph.js";
import { loadRecipe } from "../../src/recipe/load.js";
import { ROOT, writeRecipe } from "../helpers.js";

describe("layer graph", () => {
  it("orders parents first and resolves branches", () => {
    const r = loadRecipe(
      writeRecipe(`name: t
layers:
  - name: desktop
    from: console
    packages: [xorg]
  - name: base
    bootstrap: { variant: minbase }
  - name: console
    from: base
  - name: smtp
    from: console
`),
    );
    const order = r.layers.map((l) => l.name);
    assert.ok(order.indexOf("base") < order.indexOf("console"));
    assert.ok(order.indexOf("console") < order.indexOf("desktop"));
    assert.deepEqual(
      stackOf(r.layers, "smtp").map((l) => l.name),
      ["base", "console", "smtp"],
    );
    assert.deepEqual(r.layers.find((l) => l.name === "desktop")?.chain, [
      "base",
      "console",
      "desktop",
    ]);
  });

  it("loads every example", () => {
    for (const ex of ["minimal", "branches", "arm64"]) {
      const r = loadRecipe(`${ROOT}/examples/${ex}`);
      assert.ok(r.layers.length >= 2, ex);
    }
  });
});
