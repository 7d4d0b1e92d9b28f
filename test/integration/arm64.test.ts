/**
 * An arm64 root built on another architecture through qemu-user-static and binfmt_misc: a `run`
 * step sees an aarch64 machine, and binfmt_misc is left as the test found it.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, it } from "node:test";
import type { BuildResult } from "../../src/build/build.js";
import { hostArch } from "../../src/host/binfmt.js";
import { cli, mountsUnder, needsRoot, ROOT, TEST_CACHE, tempDir } from "../helpers.js";

const BINFMT = "/proc/sys/fs/binfmt_misc";
const binfmtState = () => ({
  mounted: existsSync(`${BINFMT}/register`),
  entries: existsSync(`${BINFMT}/register`) ? readdirSync(BINFMT).sort() : [],
});

const out = tempDir("strata-out-");
after(() => rmSync(out, { recursive: true, force: true }));

const skip = needsRoot || (hostArch() === "arm64" ? "the host is arm64 already" : false);

it("builds examples/arm64, whose run step sees aarch64", { skip }, () => {
  const before = binfmtState();
  const r = cli([
    "build",
    join(ROOT, "examples/arm64"),
    "--cache-dir",
    TEST_CACHE,
    "--out",
    out,
    "--json",
    // The shared test cache may hold both layers already: rebuild the top one, so its steps
    // really run under qemu-user here.
    "--rebuild",
    "system",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as BuildResult;
  assert.deepEqual(
    result.layers.map((l) => l.name),
    ["base", "system"],
  );
  assert.equal(result.layers[1]?.cached, false, "the system layer's steps ran in this build");
  // The step itself checks `uname -m` (the build would fail otherwise) and records it.
  const arch = execFileSync(
    "unsquashfs",
    ["-cat", join(out, "02-system.sqfs"), "etc/strata-build-arch"],
    {
      encoding: "utf8",
    },
  );
  assert.equal(arch.trim(), "aarch64");
  const tar = result.outputs[0]?.path ?? "";
  assert.ok(tar.endsWith("system.tar.zst"));
  const ip = execFileSync("tar", ["--zstd", "-xOf", tar, "./usr/bin/ip"], { maxBuffer: 16 << 20 });
  assert.equal(ip.readUInt16LE(18), 183, "the tarball holds aarch64 binaries (ELF e_machine 183)");

  if (!before.entries.includes("qemu-aarch64")) assert.match(r.stderr, /registered qemu-aarch64/);
  assert.deepEqual(binfmtState(), before, "binfmt_misc is as it was");
  assert.deepEqual(mountsUnder(TEST_CACHE), []);
});
