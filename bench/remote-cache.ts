/**
 * Remote layer cache benchmark for examples/disk, two "machines" (two fresh layer caches) and
 * Debian's docker-registry started by the bench on 127.0.0.1, all measured in the same run:
 *
 *   cold build on A (every layer built; warm apt package cache)               (baseline)
 *   build on an empty cache B with --cache-from (every layer pulled) ÷ cold   target ≤ 0.15
 *   module bytes pulled ÷ the modules' bytes (nothing pulled twice)           must be 1.0
 *   push seconds ÷ module MiB
 *
 * The push is timed apart from the cold build: A's no-op rebuild with --cache-to less the same
 * no-op rebuild without it. B pulls through a counting proxy (test/registry-proxy.ts), which
 * adds what the module blobs' responses carried.
 *
 * Run as root after `npm run build`:  node dist/bench/remote-cache.js
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { build, type BuildResult } from "../src/build/build.js";
import { silentReporter } from "../src/progress.js";
import { exampleWith } from "../test/example-recipe.js";
import { startProxy } from "../test/registry-proxy.js";
import { freePort, REGISTRY_SKIP, startRegistry } from "../test/registry.js";

if (REGISTRY_SKIP) throw new Error(REGISTRY_SKIP);

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = process.hrtime.bigint();
  const value = await f();
  return [value, Number(process.hrtime.bigint() - t) / 1e9];
}

const work = mkdtempSync("/var/tmp/strata-bench-remote-");
const recipe = exampleWith(join(work, "recipe"), ["{ type: disk }"]);
const on = (machine: string, more: Parameters<typeof build>[1] = {}) =>
  build(recipe, {
    cacheDir: join(work, `cache-${machine}`),
    out: join(work, `out-${machine}`),
    reporter: silentReporter,
    registryInsecure: true,
    ...more,
  });

mkdirSync(join(work, "registry"));
const port = await freePort();
const registry = await startRegistry(join(work, "registry"), port);
const ref = `127.0.0.1:${port}/bench/strata-cache`;
try {
  const [a, cold] = await timed(() => on("a"));
  const [, noop] = await timed(() => on("a"));
  const [, noopPush] = await timed(() => on("a", { cacheTo: ref }));

  const modules = new Map(a.layers.map((l) => [l.digest, l.bytes]));
  let pulled = 0;
  const proxy = await startProxy(port, {
    onAnswer: (req, bytes) => {
      const digest = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(req.url ?? "")?.[1];
      if (req.method === "GET" && digest && modules.has(digest)) pulled += bytes;
    },
  });
  let b: BuildResult;
  let warm: number;
  try {
    const via = `127.0.0.1:${proxy.port}/bench/strata-cache`;
    [b, warm] = await timed(() => on("b", { cacheFrom: [via] }));
  } finally {
    await proxy.close();
  }
  const notPulled = b.layers.filter((l) => l.pulledFrom === undefined).map((l) => l.name);
  if (notPulled.length > 0) throw new Error(`B did not pull ${notPulled.join(", ")}`);

  const moduleBytes = [...modules.values()].reduce((x, y) => x + y, 0);
  const mib = moduleBytes / 1048576;
  const push = noopPush - noop;
  console.log(`examples/disk: ${a.layers.length} layers, ${mib.toFixed(1)} MiB of modules`);
  console.log(`cold build on A                      ${cold.toFixed(1)} s`);
  console.log(`warm remote on B                     ${warm.toFixed(1)} s`);
  console.log(`warm remote ÷ cold                   ${(warm / cold).toFixed(3)}  (target ≤ 0.15)`);
  console.log(
    `module bytes pulled ÷ module bytes   ${(pulled / moduleBytes).toFixed(3)}  (must be 1.0)`,
  );
  console.log(
    `push                                 ${push.toFixed(1)} s (no-op ${noop.toFixed(1)} s)`,
  );
  console.log(`push seconds ÷ module MiB            ${(push / mib).toFixed(4)}`);
} finally {
  registry.kill();
  rmSync(work, { recursive: true, force: true });
}
