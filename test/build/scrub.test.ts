/**
 * scrubLayer on a real upper directory holding the traps a hostile layer could leave: its
 * dpkg and debconf directories as symlinks (absolute, and `../` relative) to host directories
 * that hold files named like scrub targets, and leftovers that are symlinks to host files.
 * The host's files must all survive; the layer's own leftovers go.
 */
import assert from "node:assert/strict";
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { scrubLayer } from "../../src/build/scrub.js";
import { tempDir } from "../helpers.js";

describe("scrubLayer", () => {
  let upper: string;
  let host: string;
  const hostFiles = ["dpkg/lock", "dpkg/status-old", "debconf/config.dat-old", "pkgcache.bin"];
  const put = (path: string, content = "") => {
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, content);
  };

  before(() => {
    upper = tempDir("strata-upper-");
    host = tempDir("strata-host-");
    for (const f of hostFiles) put(join(host, f), `host ${f}\n`);
    put(join(host, "empty-resolv.conf"));
    // Traps: symlinked parents and symlinked leftovers.
    mkdirSync(join(upper, "var/lib"), { recursive: true });
    mkdirSync(join(upper, "var/cache/apt"), { recursive: true });
    symlinkSync(join(host, "dpkg"), join(upper, "var/lib/dpkg"));
    symlinkSync(`../../../../../../../..${host}/debconf`, join(upper, "var/cache/debconf"));
    symlinkSync(join(host, "pkgcache.bin"), join(upper, "var/cache/apt/pkgcache.bin"));
    mkdirSync(join(upper, "etc"));
    symlinkSync(join(host, "empty-resolv.conf"), join(upper, "etc/resolv.conf"));
    // The layer's own leftovers.
    put(join(upper, "var/log/dpkg.log"), "log\n");
    put(join(upper, "var/lib/apt/lists/lock"));
    put(join(upper, "usr/sbin/policy-rc.d"));
    scrubLayer(upper, ["/etc/resolv.conf", "/usr/sbin/policy-rc.d"]);
  });
  after(() => {
    rmSync(upper, { recursive: true, force: true });
    rmSync(host, { recursive: true, force: true });
  });

  it("deletes no host file through a symlink", () => {
    for (const f of hostFiles) assert.equal(readFileSync(join(host, f), "utf8"), `host ${f}\n`);
    assert.ok(existsSync(join(host, "empty-resolv.conf")));
    assert.ok(lstatSync(join(upper, "var/lib/dpkg")).isSymbolicLink());
    assert.ok(lstatSync(join(upper, "var/cache/debconf")).isSymbolicLink());
  });

  it("removes the layer's leftovers, a leftover symlink as a link", () => {
    assert.equal(existsSync(join(upper, "var/log/dpkg.log")), false);
    assert.equal(existsSync(join(upper, "var/lib/apt/lists/lock")), false);
    assert.throws(() => lstatSync(join(upper, "var/cache/apt/pkgcache.bin")));
    assert.equal(existsSync(join(upper, "usr/sbin/policy-rc.d")), false);
  });

  it("keeps a placeholder that is not an empty regular file", () => {
    assert.ok(lstatSync(join(upper, "etc/resolv.conf")).isSymbolicLink());
    const tree = tempDir("strata-upper-");
    try {
      put(join(tree, "etc/resolv.conf"), "nameserver 10.0.0.1\n");
      scrubLayer(tree, ["/etc/resolv.conf"]);
      assert.equal(readFileSync(join(tree, "etc/resolv.conf"), "utf8"), "nameserver 10.0.0.1\n");
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });
});
