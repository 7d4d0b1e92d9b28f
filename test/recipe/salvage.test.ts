// What the semantic checks see of a recipe that failed the schema: every list keeps its length
// and order, entries that parsed are as parsed, the others are stand-ins with their raw names.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { salvageRecipe } from "../../src/recipe/salvage.js";

describe("salvageRecipe", () => {
  it("keeps positions, parsed parts and the raw names and references of the rest", () => {
    const r = salvageRecipe({
      name: 5,
      distro: { arch: "amd65" },
      layers: [
        { name: "base", bootstrap: {} },
        { name: "app", from: "bsae", steps: [{ copy: { from: "x", to: "/x" } }, { run: 42 }] },
        "not a layer",
      ],
      outputs: [{ type: "disk", esp_size: "lots", name: "vm" }, { type: "floppy" }],
      tests: { checks: [{ name: "a", run: "true", output: "(" }, { nope: 1 }] },
    });
    assert.equal(r.distro.arch, "amd64", "defaults for a distro that did not parse");
    assert.deepEqual(
      r.layers.map((l) => [l.name, l.from, l.bootstrap !== undefined]),
      [
        ["base", undefined, true],
        ["app", "bsae", false],
        ["(layers[2])", undefined, false],
      ],
    );
    assert.deepEqual(r.layers[1]?.steps?.[0], { copy: { from: "x", to: "/x" } });
    assert.deepEqual(r.layers[1]?.steps?.[1], { run: "true" }, "a stand-in for the bad step");
    assert.deepEqual(
      r.outputs.map((o) => [o.type, o.name]),
      [
        ["disk", "vm"],
        ["dir", "\u0000outputs[1]"],
      ],
    );
    assert.equal(r.tests?.checks.length, 2);
    assert.equal(r.tests?.checks[0]?.output, "(", "a check that parsed keeps its patterns");
  });

  it("makes an empty recipe of what is not one", () => {
    for (const data of [null, 5, "x", []]) {
      const r = salvageRecipe(data);
      assert.deepEqual([r.layers, r.outputs, r.tests], [[], [], undefined]);
    }
  });
});
