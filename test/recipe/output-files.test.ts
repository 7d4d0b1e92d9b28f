// The names an output writes, and those it may not take: strata's own files, layer modules,
// files being written.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { outputFiles, reservedReason, STRATA_FILES } from "../../src/recipe/output-files.js";
import { Output } from "../../src/recipe/schema.js";

const files = (o: unknown, name: string) => outputFiles(Output.parse(o), name);

describe("output files", () => {
  it("are each output's file and what goes beside it", () => {
    assert.deepEqual(files({ type: "dir" }, "root"), ["root", ".root.layers.json"]);
    assert.deepEqual(files({ type: "tar" }, "root"), ["root.tar.zst"]);
    assert.deepEqual(files({ type: "tar", compression: "none" }, "root"), ["root.tar"]);
    assert.deepEqual(files({ type: "oci" }, "app"), ["app.oci.tar"]);
    assert.deepEqual(files({ type: "oci", format: "dir" }, "app"), ["app.oci"]);
    assert.deepEqual(files({ type: "disk" }, "vm"), [
      "vm.img",
      "vm.img.bmap",
      "vm.img.json",
      "vm.release",
    ]);
  });

  it("may not be strata's own files, modules or files being written", () => {
    for (const f of STRATA_FILES) assert.match(reservedReason(f) ?? "", /strata's own/, f);
    assert.match(reservedReason("01-base.sqfs") ?? "", /layer module/);
    assert.match(reservedReason("manifest.json.tmp") ?? "", /being written/);
    for (const f of ["base", "base.sqfs", "1-base.sqfs", "vm.img", "manifest.jsonx"]) {
      assert.equal(reservedReason(f), undefined, f);
    }
  });
});
