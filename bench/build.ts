/**
 * Build benchmarks for examples/minimal, every figure against a baseline measured in the same
 * run on the same machine (warm apt package cache for both, fresh layer caches):
 *
 *   cold build ÷ plain mmdebstrap of the same packages    target ≤ 1.15
 *   no-op rebuild (seconds)                               target < 3 s
 *   top-layer change ÷ cold build                         target ≤ 0.1
 *   peak memory of the strata process
 *
 * Run as root after `npm run build`:  node dist/bench/build.js [--runs N]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BuildResult } from "../src/build/build.js";
import { resolveSettings } from "../src/build/context.js";
import { loadRecipe } from "../src/recipe/load.js";
import { bootstrapPackages } from "../src/recipe/schema.js";
import { plainMmdebstrap } from "./baseline.js";

const root = join(fileURLToPath(import.meta.url), "..", "..", "..");
const cli = join(root, "dist", "src", "cli.js");
const recipePath = join(root, "examples", "minimal");
const runs = Number(process.argv[process.argv.indexOf("--runs") + 1]) || 1;

const seconds = (f: () => void): number => {
  const t = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t) / 1e9;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

function strata(cache: string, out: string, ...args: string[]): BuildResult {
  const r = spawnSync(
    process.execPath,
    [cli, "build", recipePath, "--json", "--cache-dir", cache, "--out", out, ...args],
    {
      encoding: "utf8",
      env: { ...process.env, CI: "true" },
    },
  );
  if (r.status !== 0) throw new Error(`strata build failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as BuildResult;
}

const recipe = loadRecipe(recipePath);
const settings = await resolveSettings(recipe, {});
const packages = recipe.layers.flatMap((l) => [
  ...bootstrapPackages(l.spec.bootstrap),
  ...l.steps.flatMap((s) => s.step.packages ?? []),
]);

function plainMmdebstrapOnce(): void {
  const dir = mkdtempSync("/var/tmp/strata-bench-mm-");
  try {
    plainMmdebstrap(settings, packages, join(dir, "root"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const base: number[] = [];
const cold: number[] = [];
const noop: number[] = [];
const top: number[] = [];
let peak = 0;
// Warm the apt package cache once so neither side downloads packages.
strata(mkdtempSync("/var/tmp/strata-bench-warm-"), mkdtempSync("/var/tmp/strata-bench-out-"));
for (let i = 0; i < runs; i++) {
  const cache = mkdtempSync("/var/tmp/strata-bench-cache-");
  const out = mkdtempSync("/var/tmp/strata-bench-out-");
  try {
    base.push(seconds(plainMmdebstrapOnce));
    cold.push(
      seconds(() => {
        peak = Math.max(peak, strata(cache, out).peakMemoryBytes);
      }),
    );
    noop.push(
      seconds(() => {
        peak = Math.max(peak, strata(cache, out).peakMemoryBytes);
      }),
    );
    top.push(seconds(() => strata(cache, out, "--set", `motd=bench ${i}`)));
  } finally {
    rmSync(cache, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  }
}
for (const d of ["warm", "out"]) {
  execFileSync("sh", ["-c", `rm -rf /var/tmp/strata-bench-${d}-*`]);
}

const row = (name: string, value: string, target: string) =>
  process.stdout.write(`${name.padEnd(44)} ${value.padStart(10)}   ${target}\n`);
process.stdout.write(`examples/minimal, ${runs} run(s), medians\n`);
row("plain mmdebstrap (baseline)", `${median(base).toFixed(1)} s`, "");
row("strata cold build", `${median(cold).toFixed(1)} s`, "");
row(
  "cold build ÷ plain mmdebstrap",
  median(cold) / median(base) > 0 ? (median(cold) / median(base)).toFixed(2) : "-",
  "target ≤ 1.15",
);
row("no-op rebuild", `${median(noop).toFixed(2)} s`, "target < 3 s");
row("top-layer change ÷ cold build", (median(top) / median(cold)).toFixed(3), "target ≤ 0.1");
row("peak memory of the strata process", `${(peak / 1048576).toFixed(0)} MiB`, "");
