/** The dir output decides between an update in place and a whole copy from the layers' keys. */
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { changedModules } from "../../../src/outputs/dir/index.js";
import type { StackView } from "../../../src/outputs/types.js";
import { tempDir } from "../../helpers.js";

describe("dir output", () => {
  const dir = tempDir("strata-modules-");
  after(() => rmSync(dir, { recursive: true, force: true }));
  const module = (name: string) => {
    const path = join(dir, `${name}.sqfs`);
    writeFileSync(path, name);
    return path;
  };
  const layer = (key: string) => ({ key, module: module(key) });
  const stack = (...keys: string[]) =>
    ({
      layers: keys.map((k) => ({ ...layer(k), name: k, digest: k, bytes: 1, packages: [] })),
    }) as unknown as StackView;

  it("updates in place from the layers above the common prefix, old and new", () => {
    const previous = { layers: [layer("a"), layer("b"), layer("c")] };
    assert.deepEqual(changedModules(previous, stack("a", "b2")), [
      module("b"),
      module("c"),
      module("b2"),
    ]);
    assert.deepEqual(changedModules(previous, stack("a", "b", "c")), []);
  });

  it("copies whole when the base differs or an old module is gone", () => {
    assert.equal(changedModules({ layers: [layer("a")] }, stack("z", "b")), undefined);
    const gone = { layers: [layer("a"), { key: "b", module: join(dir, "missing.sqfs") }] };
    assert.equal(changedModules(gone, stack("a", "c")), undefined);
  });
});
