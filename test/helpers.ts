/** Shared helpers for the tests: temporary recipes, the CLI as a child process, host state. */
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BuildResult } from "../src/build/build.js";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The CLI compiled beside these tests (any outDir: dist/ or a private one). */
export const CLI = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "cli.js");
export const isRoot = process.getuid?.() === 0;
/** Integration tests need root, mounts and the mirror; without root they are reported skipped. */
export const needsRoot = isRoot ? false : "integration tests need root";

export function tempDir(prefix = "strata-test-"): string {
  return mkdtempSync(join(process.env.STRATA_TEST_TMP ?? tmpdir(), prefix));
}

/** A file of `bytes` random bytes at `dir/name`, with its sha256 (a layer or boot file). */
export function randomFile(dir: string, name: string, bytes: number) {
  const data = randomBytes(bytes);
  const file = join(dir, name);
  writeFileSync(file, data);
  return { file, digest: createHash("sha256").update(data).digest("hex"), bytes };
}

/** Writes a recipe (and any extra files) into a fresh directory; returns the recipe's path. */
export function writeRecipe(yaml: string, files: Record<string, string> = {}): string {
  const dir = tempDir("strata-recipe-");
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  writeFileSync(join(dir, "strata.yaml"), yaml);
  return join(dir, "strata.yaml");
}

/** The layers of a recipe without a kernel (base → app): its outputs follow. */
export const NO_KERNEL_LAYERS = `name: nokernel
distro: { suite: trixie, arch: amd64 }
layers:
  - name: base
    bootstrap: { variant: minbase, packages: [ca-certificates] }
  - name: app
    steps:
      - write: { path: /etc/app, content: "x\\n" }
`;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    env: { ...process.env, CI: "true", ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * `strata build RECIPE --json` into `out` on the tests' shared cache, with `args` besides; the
 * build must succeed. Returns its result.
 */
export function buildWithCli(recipe: string, out: string, args: string[] = []): BuildResult {
  const r = cli(["build", recipe, "--json", ...args, "--cache-dir", TEST_CACHE, "--out", out]);
  // --json puts the error in stdout.
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout) as BuildResult;
}

/**
 * cli() without blocking the event loop: for tests that keep a server or a machine of their
 * own going while strata runs (a spawnSync would stall them).
 */
export function cliAsync(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, CI: "true", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString("utf8")));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString("utf8")));
    child.on("error", fail);
    child.on("close", (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

/** Mounts that involve `path` (overlay, squashfs, tmpfs...), as the host sees them. */
export function mountsUnder(path: string): string[] {
  return readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .filter((l) => l.includes(path));
}

export function loopDevicesFor(path: string): string[] {
  const out = execFileSync("losetup", ["-l", "-n", "-O", "BACK-FILE"], { encoding: "utf8" });
  return out.split("\n").filter((l) => l.includes(path));
}

/** The shared layer cache of the integration tests (one bootstrap serves every test file). */
export const TEST_CACHE = process.env.STRATA_TEST_CACHE ?? "/var/tmp/strata-test-cache";

/** A cache entry made by hand (a one-byte module), for tests of what reads the cache. */
export function fakeCacheEntry(cache: string, key: string, name: string): void {
  const dir = join(cache, "layers", key);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "module.sqfs"), "x");
  const meta = { key, name, digest: key, bytes: 1, created: "", seconds: 0, manifest: {} };
  writeFileSync(join(dir, "meta.json"), JSON.stringify({ ...meta, packages: [] }));
}
