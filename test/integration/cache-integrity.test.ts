/**
 * The layer cache's integrity, end to end with real builds on a private cache (its base copied
 * from the shared test cache when that has it, so at most one bootstrap): a truncated module is
 * found by its size, a module with one byte flipped by its digest when an output is written;
 * each time the build says so, rebuilds the layer and those above it, and the output is right.
 * Then two builds at once on one cache: both succeed, and one waited for the other's lock.
 */
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import {
  closeSync,
  cpSync,
  existsSync,
  openSync,
  readSync,
  rmSync,
  statSync,
  truncateSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { BuildResult } from "../../src/build/build.js";
import { resolveSettings } from "../../src/build/context.js";
import type { PlanResult } from "../../src/commands/plan.js";
import { Cache } from "../../src/cache/store.js";
import { plan } from "../../src/plan/plan.js";
import { loadRecipe } from "../../src/recipe/load.js";
import { CLI, cli, mountsUnder, needsRoot, TEST_CACHE, tempDir, writeRecipe } from "../helpers.js";

// The base is the one test/integration/kill.test.ts builds, so the shared cache usually has it.
const RECIPE = `name: integrity
distro: { suite: trixie, arch: amd64 }
vars: { greeting: hello, nap: "0" }
layers:
  - name: base
    bootstrap: { variant: minbase, packages: [ca-certificates] }
  - name: mid
    steps:
      - write: { path: /etc/mid.txt, content: "written by the mid layer\\n" }
  - name: top
    steps:
      - write: { path: /etc/top.txt, content: "\${greeting}\\n" }
      - run: sleep \${nap}
outputs:
  - { type: tar, compression: none }
`;

interface Run {
  code: number;
  stderr: string;
  result?: BuildResult;
}

function parse(code: number, stdout: string, stderr: string): Run {
  assert.equal(code, 0, `build failed:\n${stderr}\n${stdout}`);
  return { code, stderr, result: JSON.parse(stdout) as BuildResult };
}

/** A build as a child process that does not block the test (for builds at the same time). */
function buildAsync(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, CI: "true" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve(parse(code ?? -1, stdout, stderr)));
  });
}

const cachedFlags = (r: BuildResult) => r.layers.map((l) => [l.name, l.cached]);

describe("cache integrity", { skip: needsRoot }, () => {
  const recipe = writeRecipe(RECIPE);
  const cache = tempDir("strata-cache-");
  const outs: string[] = [];
  const out = () => {
    const dir = tempDir("strata-out-");
    outs.push(dir);
    return dir;
  };
  const main = out();
  const build = (...args: string[]): Run => {
    const r = cli(["build", recipe, "--json", "--cache-dir", cache, "--out", main, ...args]);
    return parse(r.code, r.stdout, r.stderr);
  };
  /** A file of the tar output, read from the tarball. */
  const fromTar = (dir: string, path: string) =>
    execFileSync("tar", ["-xOf", join(dir, "top.tar"), `./${path}`], { encoding: "utf8" });
  const moduleOf = (r: BuildResult, name: string) =>
    join(cache, "layers", r.layers.find((l) => l.name === name)?.key ?? "?", "module.sqfs");
  let first: BuildResult;

  before(async () => {
    // Seed the private cache with the shared cache's base (a copy: this test damages modules).
    const loaded = loadRecipe(recipe);
    const settings = await resolveSettings(loaded, { cacheDir: cache });
    const base = (await plan(loaded, settings, new Cache(TEST_CACHE))).layers[0];
    const shared = join(TEST_CACHE, "layers", base?.key ?? "?");
    if (base?.cached && existsSync(shared)) {
      try {
        cpSync(shared, join(cache, "layers", base.key), { recursive: true });
      } catch {} // evicted meanwhile: the first build bootstraps it
    }
  });
  after(() => {
    assert.deepEqual(mountsUnder(cache), []);
    for (const d of [cache, ...outs]) rmSync(d, { recursive: true, force: true });
  });

  it("builds the recipe", () => {
    first = build().result as BuildResult;
    assert.equal(fromTar(main, "etc/mid.txt"), "written by the mid layer\n");
    assert.equal(fromTar(main, "etc/top.txt"), "hello\n");
  });

  it("finds a truncated module by its size, says so, and rebuilds it", () => {
    const module = moduleOf(first, "mid");
    const bytes = statSync(module).size;
    truncateSync(module, Math.floor(bytes / 2));

    // `strata plan` says why (and, holding no lock, leaves the entry alone).
    const planned = cli(["plan", recipe, "--json", "--cache-dir", cache]);
    assert.equal(planned.code, 0, planned.stderr);
    const mid = (JSON.parse(planned.stdout) as PlanResult).layers.find((l) => l.name === "mid");
    assert.equal(mid?.cached, false);
    const why = `${Math.floor(bytes / 2)} bytes, expected ${bytes}`;
    assert.equal(mid?.reason, `rebuilt: its cached module is damaged (${why})`);

    const { stderr, result } = build("--explain");
    assert.ok(result);
    assert.match(
      stderr,
      new RegExp(`layer 'mid': cached module is damaged \\(${why}\\); rebuilding it`),
    );
    assert.match(stderr, /mid: rebuilt: its cached module is damaged/);
    assert.deepEqual(cachedFlags(result), [
      ["base", true],
      ["mid", false],
      ["top", false],
    ]);
    // Same inputs, so the same key and module again; the output, made from them, is kept.
    assert.equal(statSync(moduleOf(result, "mid")).size, bytes);
    assert.equal(statSync(join(main, "02-mid.sqfs")).size, bytes);
    assert.equal(result.outputs[0]?.cached, true);
    assert.equal(fromTar(main, "etc/mid.txt"), "written by the mid layer\n");
  });

  it("finds a flipped byte by its digest when an output is written, and rebuilds it", () => {
    const module = moduleOf(first, "mid");
    const size = statSync(module).size;
    // One byte past the squashfs superblock, changed in place (as a disk error would).
    const fd = openSync(module, "r+");
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, 200);
    byte[0] = (byte[0] as number) ^ 0xff;
    writeSync(fd, byte, 0, 1, 200);
    closeSync(fd);
    assert.equal(statSync(module).size, size, "the size check cannot see it");

    // A no-op build writes no output, so it does not hash (and does not notice).
    const noop = build().result as BuildResult;
    assert.deepEqual(
      cachedFlags(noop).map(([, c]) => c),
      [true, true, true],
    );

    const { stderr, result } = build("--set", "greeting=bonjour");
    assert.ok(result);
    assert.match(
      stderr,
      /layer 'mid': cached module is damaged \(sha256 [0-9a-f]{12}…, expected [0-9a-f]{12}…\); rebuilding it/,
    );
    assert.deepEqual(cachedFlags(result), [
      ["base", true],
      ["mid", false],
      ["top", false],
    ]);
    assert.equal(result.outputs[0]?.cached, false);
    assert.equal(fromTar(main, "etc/mid.txt"), "written by the mid layer\n");
    assert.equal(fromTar(main, "etc/top.txt"), "bonjour\n");
  });

  it("runs two builds on one cache at once: both succeed, one waits for the other", async () => {
    const args = (dir: string) => [
      "build",
      recipe,
      "--json",
      "--cache-dir",
      cache,
      "--out",
      dir,
      "--set",
      "greeting=ciao",
      "--set",
      "nap=3",
    ];
    const [a, b] = [out(), out()];
    const runs = await Promise.all([buildAsync(args(a)), buildAsync(args(b))]);
    const waited = runs.filter((r) =>
      /waiting for the cache lock held by build \d+/.test(r.stderr),
    );
    assert.equal(waited.length, 1, runs.map((r) => r.stderr).join("\n---\n"));
    // The one that waited found the other's top layer in the cache.
    const top = (r: Run) => r.result?.layers.find((l) => l.name === "top")?.cached;
    assert.deepEqual(runs.map(top).sort(), [false, true]);
    assert.equal(top(waited[0] as Run), true);
    for (const dir of [a, b]) assert.equal(fromTar(dir, "etc/top.txt"), "ciao\n");
  });
});
