/**
 * Before a build places cached modules, their digests are checked (no root, a hand-made cache):
 * a module with a flipped byte is evicted and the plan made again says so, and rebuilds it and
 * the layer above; a no-op build (outputs up to date, modules in place) hashes nothing.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { resolveSettings } from "../../src/build/context.js";
import { outputKey, stampOutput } from "../../src/build/output-stamps.js";
import { moduleFile, placeModule, verifyModulesToPlace } from "../../src/build/place-modules.js";
import { Cache } from "../../src/cache/store.js";
import { type BuildPlan, plan } from "../../src/plan/plan.js";
import { loadRecipe } from "../../src/recipe/load.js";
import { tempDir, writeRecipe } from "../helpers.js";

const RECIPE = `name: placed
distro: { suite: trixie, arch: amd64 }
layers:
  - name: base
    bootstrap: { variant: minbase }
  - name: mid
    steps:
      - write: { path: /etc/mid, content: "mid\\n" }
  - name: top
    steps:
      - write: { path: /etc/top, content: "top\\n" }
outputs:
  - { type: tar }
`;

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A cache entry for `key` whose meta.json records its module's true size and digest. */
function goodEntry(cacheDir: string, key: string, name: string): string {
  const dir = join(cacheDir, "layers", key);
  mkdirSync(dir, { recursive: true });
  const content = `module of ${name}`;
  writeFileSync(join(dir, "module.sqfs"), content);
  const digest = createHash("sha256").update(content).digest("hex");
  const meta = { key, name, digest, bytes: content.length, created: "", seconds: 0 };
  writeFileSync(join(dir, "meta.json"), JSON.stringify({ ...meta, manifest: {}, packages: [] }));
  return join(dir, "module.sqfs");
}

function flipByte(file: string): void {
  const bytes = readFileSync(file);
  bytes[2] = (bytes[2] as number) ^ 0xff;
  writeFileSync(file, bytes);
}

describe("verifyModulesToPlace", () => {
  const recipe = loadRecipe(writeRecipe(RECIPE));
  const setup = async () => {
    const cacheDir = tempDir("strata-cache-");
    const out = tempDir("strata-out-");
    dirs.push(cacheDir, out);
    const settings = await resolveSettings(recipe, { cacheDir });
    const first = await plan(recipe, settings, new Cache(cacheDir));
    const modules = new Map(first.layers.map((l) => [l.name, goodEntry(cacheDir, l.key, l.name)]));
    return { cacheDir, out, settings, modules };
  };
  const cachedFlags = (p: BuildPlan) => p.layers.map((l) => [l.name, l.cached !== undefined]);

  it("evicts a module whose digest is wrong; the next plan rebuilds it and what sits on it", async () => {
    const { cacheDir, out, settings, modules } = await setup();
    flipByte(modules.get("mid") as string);
    const cache = new Cache(cacheDir);
    const lock = await cache.lock(() => {});
    try {
      const p = await plan(recipe, settings, cache);
      assert.deepEqual(cachedFlags(p), [
        ["base", true],
        ["mid", true],
        ["top", true],
      ]);
      assert.equal(await verifyModulesToPlace(cache, p, out), false);
      const again = await plan(recipe, settings, cache);
      assert.deepEqual(cachedFlags(again), [
        ["base", true],
        ["mid", false],
        ["top", false],
      ]);
      const mid = again.layers[1];
      assert.match(mid?.reason ?? "", /^rebuilt: its cached module is damaged \(sha256 /);
      assert.match(mid?.damaged ?? "", /^sha256 /);
    } finally {
      lock.release();
    }
  });

  it("hashes nothing on a no-op build, but checks a module it must place again", async () => {
    const { cacheDir, out, settings, modules } = await setup();
    const cache = new Cache(cacheDir);
    const p = await plan(recipe, settings, cache);
    // As a finished build leaves `out`: modules linked in, the output stamped.
    for (const l of p.layers) if (l.cached) placeModule(l.cached, join(out, moduleFile(l)));
    const o = p.outputs[0];
    assert.ok(o);
    writeFileSync(join(out, o.file), "a tar");
    stampOutput(out, o.file, outputKey(p, o));
    // Damaged after that build: a no-op build does not look (same inode, output up to date).
    flipByte(modules.get("base") as string);
    assert.equal(await verifyModulesToPlace(cache, p, out), true);
    assert.equal(cache.damage(p.layers[0]?.key as string), undefined);
    // Once its numbered file is not the cache's module any more, it is placed again: checked.
    rmSync(join(out, "01-base.sqfs"));
    assert.equal(await verifyModulesToPlace(new Cache(cacheDir), p, out), false);
  });

  it("reports a truncated module in the plan, and keeps it when the cache is not locked", async () => {
    const { cacheDir, settings, modules } = await setup();
    truncateSync(modules.get("top") as string, 3);
    const p = await plan(recipe, settings, new Cache(cacheDir));
    const top = p.layers[2];
    assert.equal(top?.cached, undefined);
    assert.match(
      top?.reason ?? "",
      /^rebuilt: its cached module is damaged \(3 bytes, expected \d+\)$/,
    );
    assert.equal(readFileSync(modules.get("top") as string).length, 3, "not evicted");
  });
});
