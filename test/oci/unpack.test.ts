import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { extractArgv } from "../../src/oci/unpack.js";
import { hostSystemBinds } from "../../src/host/system-binds.js";

describe("unpacking an OCI layer", () => {
  const argv = extractArgv("/work/root", "/work/blob", ["--ro-bind", "/usr", "/usr"]);
  const after = (flag: string) => argv.slice(argv.indexOf(flag) + 1, argv.indexOf(flag) + 3);

  it("extracts in a sandbox where the tree is the one writable bind", () => {
    assert.equal(argv[0], "bwrap");
    assert.deepEqual(after("--bind"), ["/work/root", "/tmp/root"]);
    assert.equal(argv.filter((a) => a === "--bind").length, 1);
    assert.deepEqual(after("--ro-bind").slice(0, 2), ["/usr", "/usr"]);
    assert.ok(argv.includes("--unshare-net"));
    assert.equal(argv.includes("--unshare-all"), false, "its user namespace has uid 0 alone");
    assert.equal(argv.includes("--proc"), false, "no /proc: nothing of the kernel's to write");
    assert.deepEqual(argv.slice(argv.indexOf("--cap-drop"), argv.indexOf("--cap-drop") + 2), [
      "--cap-drop",
      "ALL",
    ]);
    assert.equal(argv.includes("CAP_SYS_ADMIN"), false);
  });

  it("keeps owners, modes and xattrs, and leaves the whiteout files out", () => {
    const tar = argv.slice(argv.indexOf("tar"));
    for (const flag of [
      "--numeric-owner",
      "--same-owner",
      "--same-permissions",
      "--xattrs",
      "--exclude=.wh.*",
    ]) {
      assert.ok(tar.includes(flag), flag);
    }
    assert.deepEqual(tar.slice(tar.indexOf("-C"), tar.indexOf("-C") + 2), ["-C", "/tmp/root"]);
  });

  it("shows the host's /usr read-only, and nothing of /etc or /proc", () => {
    const binds = hostSystemBinds();
    assert.deepEqual(binds.slice(0, 3), ["--ro-bind", "/usr", "/usr"]);
    assert.equal(
      binds.some((a) => a === "/etc" || a === "/proc" || a === "/home"),
      false,
    );
    assert.equal(binds.includes("--bind"), false);
  });
});
