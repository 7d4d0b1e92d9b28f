// overlayfs whiteouts and opaque directories in an unpacked layer, turned into OCI's.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  convertWhiteouts,
  opaqueListArgs,
  parseOpaqueDirs,
} from "../../../src/outputs/oci/whiteouts.js";
import { needsRoot, tempDir } from "../../helpers.js";

describe("oci whiteouts", () => {
  it("reads opaque directories from getfattr's listing, names unquoted", () => {
    const listing = [
      "# file: /l/root",
      'trusted.overlay.opaque="y"',
      "",
      "# file: /l/root/opt/dir",
      'trusted.overlay.opaque="y"',
      "",
      "# file: /l/root/opt/with\\040space\\134and\\303\\251",
      'trusted.overlay.opaque="y"',
      "",
      "# file: /l/root/var/only-xattr-whiteouts",
      'trusted.overlay.opaque="x"',
      "",
    ].join("\n");
    assert.deepEqual(parseOpaqueDirs(listing, "/l/root"), ["", "opt/dir", "opt/with space\\andé"]);
    assert.deepEqual(parseOpaqueDirs("", "/l/root"), []);
    assert.deepEqual(opaqueListArgs("/r").slice(-2), ["-d", "/r"]);
  });

  it("marks opaque directories and refuses a layer's own .wh. names", () => {
    const root = tempDir("strata-oci-wh-");
    try {
      mkdirSync(join(root, "opt/dir"), { recursive: true });
      writeFileSync(join(root, "opt/dir/new"), "x");
      assert.deepEqual(convertWhiteouts(root, ["opt/dir"]), { whiteouts: 0, opaque: 1 });
      assert.deepEqual(readdirSync(join(root, "opt/dir")).sort(), [".wh..wh..opq", "new"]);
      assert.equal(statSync(join(root, "opt/dir/.wh..wh..opq")).size, 0);
      assert.throws(() => convertWhiteouts(root, []), { code: "E_OUTPUT" });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("turns 0:0 character devices into .wh. files, other devices kept", { skip: needsRoot }, () => {
    const root = tempDir("strata-oci-wh-");
    try {
      mkdirSync(join(root, "etc/deep"), { recursive: true });
      execFileSync("mknod", [join(root, "etc/gone"), "c", "0", "0"]);
      execFileSync("mknod", [join(root, "etc/deep/also-gone"), "c", "0", "0"]);
      execFileSync("mknod", [join(root, "etc/null"), "c", "1", "3"]);
      assert.deepEqual(convertWhiteouts(root, []), { whiteouts: 2, opaque: 0 });
      assert.equal(existsSync(join(root, "etc/gone")), false);
      assert.ok(statSync(join(root, "etc/.wh.gone")).isFile());
      assert.ok(statSync(join(root, "etc/deep/.wh.also-gone")).isFile());
      assert.ok(statSync(join(root, "etc/null")).isCharacterDevice());
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
