/**
 * Disk benchmarks for examples/disk: the layered (immutable) image against a flat image of the
 * same layers, both GPT + UEFI + ext4, measured in the same run on the same machine:
 *
 *   boot to login (QEMU start → login prompt), immutable ÷ flat        target ≤ 1.1
 *   image bytes, allocated and zstd-compressed, immutable ÷ flat       target ≤ 0.5
 *   disk output time ÷ layer build time (cold layers, fresh cache)
 *
 * Run as root after `npm run build`:  node dist/bench/disk.js [--runs N]
 * Boots use KVM when the probe says it works, else TCG (STRATA_ACCEL forces one).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { build } from "../src/build/build.js";
import { silentReporter } from "../src/progress.js";
import { bootMachine } from "../src/vm/machine.js";
import { exampleWith } from "../test/example-recipe.js";

const runs = Number(process.argv[process.argv.indexOf("--runs") + 1]) || 1;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** examples/disk with its outputs replaced by `outputs` (YAML flow mappings). */
const recipeWith = (outputs: string[]) =>
  exampleWith(mkdtempSync("/var/tmp/strata-bench-recipe-"), outputs);

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = process.hrtime.bigint();
  const value = await f();
  return [value, Number(process.hrtime.bigint() - t) / 1e9];
}

const cache = mkdtempSync("/var/tmp/strata-bench-cache-");
const out = mkdtempSync("/var/tmp/strata-bench-out-");
const options = { cacheDir: cache, out, reporter: silentReporter };
const layersOnly = recipeWith([]);
const disks = recipeWith([
  "{ type: disk, name: immutable }",
  "{ type: disk, name: flat, root: flat }",
]);
const immutableAgain = recipeWith(["{ type: disk, name: again }"]);

try {
  // Warm the apt package cache so the cold build downloads nothing.
  await build(layersOnly, { ...options, cacheDir: mkdtempSync("/var/tmp/strata-bench-warm-") });
  const [, layerSeconds] = await timed(() => build(layersOnly, options));
  const [, diskSeconds] = await timed(() => build(disks, options));
  // The same disk again: its boot layer is cached, so this is assembly alone.
  const [, assemblySeconds] = await timed(() => build(immutableAgain, options));

  const images = { immutable: join(out, "immutable.img"), flat: join(out, "flat.img") };
  const allocated = (f: string) => statSync(f).blocks * 512;
  const compressed = (f: string) =>
    execFileSync("sh", ["-c", `zstd -q -T0 -3 -c "${f}" | wc -c`], { encoding: "utf8" });
  const bytes = {
    immutable: { actual: allocated(images.immutable), zstd: Number(compressed(images.immutable)) },
    flat: { actual: allocated(images.flat), zstd: Number(compressed(images.flat)) },
  };

  const boots: Record<"immutable" | "flat", number[]> = { immutable: [], flat: [] };
  let accel = "";
  for (let i = 0; i < runs; i++) {
    for (const kind of ["immutable", "flat"] as const) {
      const m = await bootMachine({ image: images[kind], arch: "amd64", boot: "uefi" });
      try {
        await m.waitFor(/login: *$/m, 600_000);
        boots[kind].push(m.secondsToLogin ?? Number.NaN);
        accel = m.accel.accel;
      } finally {
        await m.close();
      }
    }
  }

  const mib = (n: number) => `${(n / 1048576).toFixed(0)} MiB`;
  const row = (name: string, value: string, target = "") =>
    process.stdout.write(`${name.padEnd(52)} ${value.padStart(10)}   ${target}\n`);
  process.stdout.write(`examples/disk (GPT, UEFI, ext4), ${runs} boot run(s), ${accel}\n`);
  row("boot to login, flat (baseline)", `${median(boots.flat).toFixed(1)} s`);
  row("boot to login, immutable", `${median(boots.immutable).toFixed(1)} s`);
  row(
    "boot to login, immutable ÷ flat",
    (median(boots.immutable) / median(boots.flat)).toFixed(2),
    "target ≤ 1.1",
  );
  row(
    "image bytes allocated, flat / immutable",
    `${mib(bytes.flat.actual)} / ${mib(bytes.immutable.actual)}`,
  );
  row(
    "image bytes allocated, immutable ÷ flat",
    (bytes.immutable.actual / bytes.flat.actual).toFixed(2),
    "target ≤ 0.5",
  );
  row(
    "image bytes zstd -3, flat / immutable",
    `${mib(bytes.flat.zstd)} / ${mib(bytes.immutable.zstd)}`,
  );
  row(
    "image bytes zstd -3, immutable ÷ flat",
    (bytes.immutable.zstd / bytes.flat.zstd).toFixed(2),
    "target ≤ 0.5",
  );
  row("layer build, cold (baseline)", `${layerSeconds.toFixed(1)} s`);
  row("two disk outputs incl. their boot layers", `${diskSeconds.toFixed(1)} s`);
  row("  ÷ layer build", (diskSeconds / layerSeconds).toFixed(2));
  row("one disk assembly, boot layer cached", `${assemblySeconds.toFixed(1)} s`);
  row("  ÷ layer build", (assemblySeconds / layerSeconds).toFixed(2));
} finally {
  for (const dir of [cache, out, layersOnly, disks, immutableAgain])
    rmSync(dir, { recursive: true, force: true });
  execFileSync("sh", ["-c", "rm -rf /var/tmp/strata-bench-warm-*"]);
}
