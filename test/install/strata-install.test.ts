/**
 * strata-install (assets/install/strata-install)'s usage and refusals, run on the host with
 * targets that are plain files in a temporary directory: it must refuse them before it reads
 * its image or writes anything. No block device is ever named.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ROOT, tempDir } from "../helpers.js";

const INSTALLER = join(ROOT, "assets/install/strata-install");
const work = tempDir("strata-install-");

function install(...args: string[]) {
  for (const a of args) assert.ok(!a.startsWith("/dev"), `never a device: ${a}`);
  const r = spawnSync("sh", [INSTALLER, ...args], { encoding: "utf8", input: "yes\n" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("strata-install", () => {
  it("prints its usage for --help and -h, and exits 0", () => {
    for (const flag of ["--help", "-h"]) {
      const r = install(flag);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^strata-install: installs the system/);
      assert.match(r.stdout, /^ {2}strata-install DEVICE \[--yes\] {5}asks before it writes/m);
      assert.match(r.stdout, /strata-install --from-cmdline/);
      assert.match(r.stdout, /Exit status: 0 installed, 1 refused or failed, 2 usage\.$/m);
      // Only the comment, without its "# ": not the shebang, not the code.
      assert.doesNotMatch(r.stdout, /^#|set -eu|#!\/bin\/sh/m);
      assert.equal(r.stderr, "");
    }
  });

  it("exits 2 with its usage without a device", () => {
    const r = install();
    assert.equal(r.code, 2);
    assert.equal(r.stderr, "usage: strata-install DEVICE [--yes]\n");
    assert.equal(r.stdout, "");
    assert.equal(install("--yes").code, 2);
  });

  it("exits 2 for an unknown option, naming it", () => {
    const target = join(work, "unknown-target");
    writeFileSync(target, "untouched");
    for (const args of [["--force"], [target, "--force"], ["--force", target, "--yes"]]) {
      const r = install(...args);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.stderr, /^strata-install: unknown option --force \(see --help\)$/m);
    }
    assert.equal(readFileSync(target, "utf8"), "untouched");
  });

  it("refuses a target that is not a block device, with status 1, writing nothing", () => {
    const target = join(work, "notablockdevice");
    writeFileSync(target, "untouched");
    const before = statSync(target);
    for (const args of [[target, "--yes"], [target, "-y"], [target]]) {
      const r = install(...args);
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stderr, `strata-install: error: ${target} is not a block device\n`);
      // Refused before the question and before anything is written.
      assert.doesNotMatch(r.stdout, /will be lost|writing/);
    }
    assert.equal(readFileSync(target, "utf8"), "untouched");
    assert.equal(statSync(target).mtimeMs, before.mtimeMs);
  });

  it("refuses a directory and a path that does not exist the same way", () => {
    const missing = join(work, "absent");
    for (const target of [work, missing]) {
      const r = install(target, "--yes");
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `strata-install: error: ${target} is not a block device\n`);
    }
  });

  it("is a POSIX shell script that sh can parse", () => {
    const r = spawnSync("sh", ["-n", INSTALLER], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(readFileSync(INSTALLER, "utf8"), /^#!\/bin\/sh\nset -eu$|^set -eu$/m);
  });
});
