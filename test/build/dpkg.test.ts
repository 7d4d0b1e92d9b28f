import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { diffPackages, parseDpkgStatus, readDpkgStatus } from "../../src/build/dpkg.js";
import { StrataError } from "../../src/errors.js";
import { tempDir } from "../helpers.js";

const STATUS = `Package: zlib1g
Status: install ok installed
Architecture: amd64
Version: 1:1.3.dfsg-3

Package: gone
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: bash
Status: install ok installed
Architecture: amd64
Version: 5.2.37-2
`;

it("reads installed packages and diffs two sets", () => {
  const before = parseDpkgStatus(STATUS);
  assert.deepEqual(
    before.map((p) => p.name),
    ["bash", "zlib1g"],
  );
  const after = [
    { name: "bash", version: "5.2.37-3", arch: "amd64" },
    { name: "iproute2", version: "6.15.0-1", arch: "amd64" },
  ];
  const d = diffPackages(before, after);
  assert.deepEqual(
    d.added.map((p) => p.name),
    ["iproute2"],
  );
  assert.deepEqual(
    d.removed.map((p) => p.name),
    ["zlib1g"],
  );
  assert.deepEqual(d.changed, [
    { name: "bash", version: "5.2.37-3", arch: "amd64", from: "5.2.37-2" },
  ]);
});

it("reads the status file inside the root, never a host file a symlink names", () => {
  const root = tempDir("strata-root-");
  const host = tempDir("strata-host-");
  const dpkg = join(root, "var/lib/dpkg");
  const status = join(dpkg, "status");
  const hostStatus = join(host, "status");
  writeFileSync(hostStatus, "Package: host-secret\nStatus: install ok installed\nVersion: 1\n");
  const names = () => readDpkgStatus(root).map((p) => p.name);
  try {
    mkdirSync(dpkg, { recursive: true });
    assert.deepEqual(names(), [], "no status file: no packages");
    writeFileSync(join(dpkg, "status-real"), STATUS);
    symlinkSync("/var/lib/dpkg/status-real", status);
    assert.deepEqual(names(), ["bash", "zlib1g"], "an absolute symlink inside the root");
    rmSync(status);
    symlinkSync(hostStatus, status);
    assert.deepEqual(names(), [], "an absolute symlink to a host file");
    rmSync(status);
    symlinkSync(`../../../../../../../..${hostStatus}`, status);
    assert.deepEqual(names(), [], "a relative symlink climbing out");
    rmSync(dpkg, { recursive: true });
    symlinkSync(host, dpkg);
    assert.deepEqual(names(), [], "a symlinked /var/lib/dpkg");
    rmSync(dpkg);
    mkdirSync(dpkg);
    symlinkSync("status", status);
    assert.throws(
      () => readDpkgStatus(root),
      (e) =>
        e instanceof StrataError && e.code === "E_LAYER_FILE" && /symlink loop/.test(e.message),
    );
    rmSync(status);
    execFileSync("mkfifo", [status]);
    assert.throws(
      () => readDpkgStatus(root),
      (e) => e instanceof StrataError && /\/var\/lib\/dpkg\/status .*a FIFO/.test(e.message),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(host, { recursive: true, force: true });
  }
});
