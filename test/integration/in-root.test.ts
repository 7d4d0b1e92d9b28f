/**
 * A layer that lays symlink traps for the host side of the build: its /var/lib/dpkg is an
 * absolute symlink to a host directory holding dpkg's `lock`, `status-old` and a `status` that
 * names a package, its /var/cache/debconf a `../` symlink to a host directory holding
 * `config.dat-old`, its /var/log/dpkg.log a symlink to a host file (all paths that the scrub
 * removes or the build reads). A real build (over the
 * shared base layer) with a `dir` output must leave every host file as it was, record no
 * package from the host's status, and copy no host byte into the output.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { BuildResult } from "../../src/build/build.js";
import { cli, needsRoot, TEST_CACHE, tempDir, writeRecipe } from "../helpers.js";

const MARKER = "strata-host-sentinel";

describe("layer symlinks on the host side", { skip: needsRoot }, () => {
  let host: string;
  let out: string;
  let result: BuildResult;
  let code: number;
  let stderr: string;
  const sentinels: Record<string, string> = {
    "dpkg/lock": `${MARKER} lock\n`,
    "dpkg/status-old": `${MARKER} status-old\n`,
    "dpkg/status": `Package: ${MARKER}\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\n`,
    "debconf/config.dat-old": `${MARKER} debconf\n`,
    "dpkg.log": `${MARKER} log\n`,
  };

  before(() => {
    host = tempDir("strata-host-");
    out = tempDir("strata-out-");
    for (const [f, content] of Object.entries(sentinels)) {
      mkdirSync(join(host, f, ".."), { recursive: true });
      writeFileSync(join(host, f), content);
    }
    const recipe = writeRecipe(`name: traps
distro: { suite: trixie, arch: amd64 }
layers:
  - name: base
    bootstrap: { variant: minbase, packages: [ca-certificates] }
  - name: traps
    steps:
      - run: |
          rm -rf /var/lib/dpkg /var/cache/debconf /var/log/dpkg.log
          ln -s ${host}/dpkg /var/lib/dpkg
          ln -s ../../../../../../../..${host}/debconf /var/cache/debconf
          ln -s ${host}/dpkg.log /var/log/dpkg.log
outputs:
  - { type: dir }
`);
    const r = cli(["build", recipe, "--json", "--cache-dir", TEST_CACHE, "--out", out]);
    ({ code, stderr } = { code: r.code, stderr: r.stderr });
    if (r.code === 0) result = JSON.parse(r.stdout) as BuildResult;
  });
  after(() => {
    rmSync(host, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });

  it("builds, and leaves the host's files as they were", () => {
    assert.equal(code, 0, stderr);
    for (const [f, content] of Object.entries(sentinels))
      assert.equal(readFileSync(join(host, f), "utf8"), content, `${f} unchanged`);
  });

  it("records no package from a host status file", () => {
    const layer = result.layers.find((l) => l.name === "traps");
    assert.equal(layer?.cached, false, "the trap layer was built in this run");
    assert.ok(!layer?.packages.added.some((p) => p.name === MARKER));
    const meta = readFileSync(join(TEST_CACHE, "layers", layer?.key ?? "", "meta.json"), "utf8");
    assert.ok(!meta.includes(MARKER));
  });

  it("keeps the symlinks as symlinks in the output and copies no host byte", () => {
    const tree = join(out, "traps");
    assert.equal(readlinkSync(join(tree, "var/lib/dpkg")), `${host}/dpkg`);
    assert.ok(lstatSync(join(tree, "var/cache/debconf")).isSymbolicLink());
    // The scrub removed the dpkg.log symlink itself (and the base layer has no log).
    assert.throws(() => lstatSync(join(tree, "var/log/dpkg.log")), /ENOENT/);
    // grep -r follows no symlink below the directory it is given.
    const found = execFileSync("sh", ["-c", 'grep -rl -- "$1" "$2" || true', "sh", MARKER, out], {
      encoding: "utf8",
    });
    assert.equal(found, "");
  });
});
