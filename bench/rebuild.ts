/**
 * Rebuild benchmarks for a bootable disk, tried as a user would: a recipe written into a temp
 * dir (a minbase base with systemd-sysv, udev, linux-image-amd64 and openssh-server, a top
 * `app` layer that copies one file, `outputs: [{ type: disk }]`), built with the CLI. Every
 * figure is measured in the same run on the same machine (warm apt package cache for all,
 * fresh layer cache for strata):
 *
 *   plain mmdebstrap of the same packages + mkfs.ext4 -d of the tree     (baseline)
 *   strata cold build ÷ baseline
 *   rebuild after a one-file change in the top layer ÷ cold build        target ≤ 0.1
 *   that rebuild's seconds besides the app layer's own steps             target < 3 s
 *   no-op rebuild (seconds)                                              target < 2 s
 *
 * "Besides the app layer's own steps" is the rebuild's wall time minus the app layer's step
 * seconds from `--json` (`layers[].steps[].seconds` when the build reports them, else the
 * layer's `seconds`): everything else (start-up, checks, keys, packing, outputs).
 *
 * Run as root after `npm run build`:  node dist/bench/rebuild.js [--runs N]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { resolveSettings } from "../src/build/context.js";
import { loadRecipe } from "../src/recipe/load.js";
import { plainMmdebstrap } from "./baseline.js";

const root = join(fileURLToPath(import.meta.url), "..", "..", "..");
const cli = join(root, "dist", "src", "cli.js");
const runs = Number(process.argv[process.argv.indexOf("--runs") + 1]) || 1;
const packages = ["systemd-sysv", "udev", "linux-image-amd64", "openssh-server"];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
function seconds<T>(f: () => T): [T, number] {
  const t = process.hrtime.bigint();
  const value = f();
  return [value, Number(process.hrtime.bigint() - t) / 1e9];
}

/** What this bench reads of `strata build --json` (per-step seconds only when reported). */
interface BuildJson {
  layers: {
    name: string;
    cached: boolean;
    seconds: number;
    steps?: { label: string; seconds: number }[];
  }[];
}

function writeRecipe(dir: string): void {
  mkdirSync(join(dir, "files"), { recursive: true });
  writeFileSync(join(dir, "files", "app.conf"), "version 0\n");
  writeFileSync(
    join(dir, "strata.yaml"),
    [
      "name: bench-rebuild",
      "distro: { suite: trixie, arch: amd64 }",
      "layers:",
      "  - name: base",
      `    bootstrap: { variant: minbase, packages: [${packages.join(", ")}] }`,
      "  - name: app",
      "    steps:",
      "      - copy: { from: files/app.conf, to: /etc/app.conf }",
      "outputs: [{ type: disk }]",
      "",
    ].join("\n"),
  );
}

function strata(recipe: string, cache: string, out: string): BuildJson {
  const r = spawnSync(
    process.execPath,
    [cli, "build", recipe, "--json", "--cache-dir", cache, "--out", out],
    { encoding: "utf8", env: { ...process.env, CI: "true" }, maxBuffer: 64 * 1024 * 1024 },
  );
  if (r.status !== 0) throw new Error(`strata build failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as BuildJson;
}

/** The seconds the app layer's own steps took in this build (0 when it came from the cache). */
function appStepSeconds(result: BuildJson): { seconds: number; source: string } {
  const app = result.layers.find((l) => l.name === "app");
  if (!app) throw new Error("the build's JSON has no `app` layer");
  if (app.cached) return { seconds: 0, source: "cached" };
  if (app.steps && app.steps.length > 0)
    return { seconds: app.steps.reduce((s, x) => s + x.seconds, 0), source: "steps[].seconds" };
  return { seconds: app.seconds, source: "layer seconds" };
}

type Settings = Awaited<ReturnType<typeof resolveSettings>>;

function plainMmdebstrapAndMkfs(settings: Settings): void {
  const dir = mkdtempSync("/var/tmp/strata-bench-mm-");
  try {
    const tree = join(dir, "root");
    plainMmdebstrap(settings, packages, tree);
    // What the tree needs plus a quarter and 64 MiB of room, as a sparse file.
    const bytes = Number(execFileSync("du", ["-sb", tree], { encoding: "utf8" }).split("\t")[0]);
    const image = join(dir, "root.img");
    const size = Math.ceil((bytes * 1.25 + 64 * 1048576) / 1048576);
    execFileSync("truncate", ["-s", `${size}M`, image]);
    execFileSync("mkfs.ext4", ["-q", "-F", "-d", tree, image], { stdio: "ignore" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const recipeDir = mkdtempSync("/var/tmp/strata-bench-recipe-");
const temps: string[] = [recipeDir];
const temp = (prefix: string) => {
  const d = mkdtempSync(`/var/tmp/strata-bench-${prefix}-`);
  temps.push(d);
  return d;
};

const base: number[] = [];
const cold: number[] = [];
const change: number[] = [];
const besides: number[] = [];
const noop: number[] = [];
let stepSource = "";
try {
  writeRecipe(recipeDir);
  const settings = await resolveSettings(loadRecipe(recipeDir), {});
  // Warm the apt package cache once so that no side downloads packages.
  strata(recipeDir, temp("warm"), temp("out"));
  for (let i = 0; i < runs; i++) {
    const cache = temp("cache");
    const out = temp("out");
    writeFileSync(join(recipeDir, "files", "app.conf"), "version 0\n");
    base.push(seconds(() => plainMmdebstrapAndMkfs(settings))[1]);
    cold.push(seconds(() => strata(recipeDir, cache, out))[1]);
    // The same size, so only the content differs.
    writeFileSync(join(recipeDir, "files", "app.conf"), `version ${(i + 1) % 10}\n`);
    const [changed, changeSeconds] = seconds(() => strata(recipeDir, cache, out));
    const app = appStepSeconds(changed);
    stepSource = app.source;
    change.push(changeSeconds);
    besides.push(changeSeconds - app.seconds);
    noop.push(seconds(() => strata(recipeDir, cache, out))[1]);
    rmSync(cache, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  }
} finally {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
}

const row = (name: string, value: string, target = "") =>
  process.stdout.write(`${name.padEnd(52)} ${value.padStart(10)}   ${target}\n`);
process.stdout.write(
  `bootable disk (${packages.join(", ")} + app layer), ${runs} run(s), medians\n`,
);
row("plain mmdebstrap + mkfs.ext4 -d (baseline)", `${median(base).toFixed(1)} s`);
row("strata cold build", `${median(cold).toFixed(1)} s`);
row("cold build ÷ baseline", (median(cold) / median(base)).toFixed(2));
row("one-file change in the top layer", `${median(change).toFixed(2)} s`);
row("  ÷ cold build", (median(change) / median(cold)).toFixed(3), "target ≤ 0.1");
row(
  `  besides the app layer's steps (${stepSource})`,
  `${median(besides).toFixed(2)} s`,
  "target < 3 s",
);
row("no-op rebuild", `${median(noop).toFixed(2)} s`, "target < 2 s");
