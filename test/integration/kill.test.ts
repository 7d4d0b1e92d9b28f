/**
 * A build killed with SIGKILL in the middle of a layer: no mount, loop device, process or partial
 * cache entry survives it, and the next build succeeds.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { BuildResult } from "../../src/build/build.js";
import {
  CLI,
  cli,
  loopDevicesFor,
  mountsUnder,
  needsRoot,
  TEST_CACHE,
  tempDir,
  writeRecipe,
} from "../helpers.js";

const out = tempDir("strata-out-");
after(() => rmSync(out, { recursive: true, force: true }));

function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cmd.includes(text)) found.push(`${pid}: ${cmd}`);
    } catch {}
  }
  return found;
}

it("survives SIGKILL in the middle of a layer", { skip: needsRoot }, async () => {
  const marker = `strata-kill-test-${process.pid}`;
  const recipe = writeRecipe(`name: killed
distro: { suite: trixie, arch: amd64 }
layers:
  - name: base
    bootstrap: { variant: minbase, packages: [ca-certificates] }
  - name: slow
    steps:
      - run: echo ${marker}-started; sleep \${nap}; echo done > /etc/slow
vars: { nap: "30" }
`);
  // The base layer comes from the cache (or is built now), so the kill lands in "slow".
  const child = spawn(
    process.execPath,
    [CLI, "build", recipe, "--cache-dir", TEST_CACHE, "--out", out, "-v"],
    {
      env: { ...process.env, CI: "true" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let log = "";
  child.stderr.on("data", (d: Buffer) => {
    log += d.toString();
  });
  const deadline = Date.now() + 300_000;
  while (!log.includes(`${marker}-started`) && Date.now() < deadline && child.exitCode === null)
    await sleep(200);
  assert.ok(log.includes(`${marker}-started`), `the slow step never started:\n${log}`);
  const layersBefore = readdirSync(join(TEST_CACHE, "layers"));
  child.kill("SIGKILL");
  await new Promise((r) => child.once("exit", r));
  await sleep(1000);

  assert.deepEqual(mountsUnder(TEST_CACHE), [], "no mount survives");
  assert.deepEqual(loopDevicesFor(TEST_CACHE), [], "no loop device survives");
  assert.deepEqual(processesMentioning(`${marker}-started`), [], "no build process survives");
  assert.deepEqual(readdirSync(join(TEST_CACHE, "layers")), layersBefore, "no partial cache entry");

  const r = cli([
    "build",
    recipe,
    "--cache-dir",
    TEST_CACHE,
    "--out",
    out,
    "--json",
    "--set",
    "nap=0",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as BuildResult;
  assert.deepEqual(
    result.layers.map((l) => [l.name, l.cached]),
    [
      ["base", true],
      ["slow", false],
    ],
  );
  assert.ok(existsSync(join(out, "02-slow.sqfs")));
  assert.deepEqual(
    readdirSync(join(TEST_CACHE, "tmp")),
    [],
    "the killed build's work directory is gone",
  );
});
