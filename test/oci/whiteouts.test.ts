import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { unquoteC, whiteoutPlan } from "../../src/oci/whiteouts.js";

describe("OCI whiteouts", () => {
  it("reads names as GNU tar's C quoting prints them", () => {
    assert.equal(unquoteC('"./etc/plain"'), "./etc/plain");
    assert.equal(unquoteC('"a\\nb\\tc\\\\d\\"e"'), 'a\nb\tc\\d"e');
    // Octal bytes make up UTF-8 text.
    assert.equal(unquoteC('"caf\\303\\251"'), "café");
    assert.equal(unquoteC("unquoted"), "unquoted");
  });

  it("turns .wh.NAME into a removal and .wh..wh..opq into an opaque directory", () => {
    const plan = whiteoutPlan([
      '"./"',
      '"./etc/"',
      '"./etc/.wh.gone"',
      '"./etc/kept"',
      '"./opt/dir/.wh..wh..opq"',
      '"./opt/dir/new"',
      '"./.wh.top"',
      '".wh..wh..opq"',
      "",
    ]);
    assert.deepEqual(plan, { remove: ["etc/gone", "top"], opaque: ["opt/dir", ""] });
  });

  it("ignores names that climb out of the tree and a bare prefix", () => {
    const plan = whiteoutPlan(['"../.wh.x"', '"a/../../.wh.y"', '"etc/.wh."', '"/abs/.wh.z"']);
    assert.deepEqual(plan, { remove: ["abs/z"], opaque: [] });
  });
});
