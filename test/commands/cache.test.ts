/**
 * `strata cache gc` on a hand-made cache: it keeps every layer the given recipes use, the boot
 * layers of their disk outputs included (they are not in the recipe's `layers`), and removes
 * the rest; with `--set`, the layers those overrides give.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { resolveSettings } from "../../src/build/context.js";
import { digestOf } from "../../src/cache/canonical.js";
import { Cache } from "../../src/cache/store.js";
import { cacheGc } from "../../src/commands/cache.js";
import { plan } from "../../src/plan/plan.js";
import { loadRecipe } from "../../src/recipe/load.js";
import { ROOT, tempDir, fakeCacheEntry, writeRecipe } from "../helpers.js";

describe("cache gc", () => {
  const cache = tempDir("strata-cache-");
  after(() => rmSync(cache, { recursive: true, force: true }));

  it("keeps the recipes' layers and their disks' boot layers, and removes the rest", async () => {
    const path = join(ROOT, "examples/disk");
    const recipe = loadRecipe(path);
    const settings = await resolveSettings(recipe, { cacheDir: cache });
    const planned = await plan(recipe, settings, new Cache(cache));
    const boot = planned.layers.filter((l) => l.addedBy);
    // The disk's boot layer sits on the layer that installs the kernel.
    assert.deepEqual(
      boot.map((l) => [l.name, l.parent]),
      [["base.boot-uefi-ext4", "base"]],
    );
    // Its key is the digest of its manifest, which names its parent's key: not derived here
    // from the function under test, but checked against it.
    const base = planned.layers.find((l) => l.name === "base");
    assert.equal(boot[0]?.manifest.parent, base?.key);
    assert.equal(boot[0]?.key, digestOf(boot[0]?.manifest));
    for (const l of planned.layers) fakeCacheEntry(cache, l.key, l.name);
    fakeCacheEntry(cache, "f".repeat(64), "stale");

    const result = await cacheGc({ recipes: [path], cacheDir: cache });
    assert.deepEqual(
      result.removed.map((i) => i.name),
      ["stale"],
    );
    assert.deepEqual(result.kept.map((i) => i.name).sort(), [
      "base",
      "base.boot-uefi-ext4",
      "system",
    ]);
  });

  it("keeps the layers built with the --set overrides it is given", async () => {
    const dir = tempDir("strata-cache-");
    const path = writeRecipe(`name: vars
distro: { suite: trixie, arch: amd64 }
vars: { motd: default }
layers:
  - name: base
    bootstrap: { variant: minbase }
  - name: system
    steps:
      - write: { path: /etc/motd, content: "\${motd}\\n" }
outputs: [{ type: dir }]
`);
    const set = { motd: "custom" };
    const recipe = loadRecipe(path, { set });
    const settings = await resolveSettings(recipe, { cacheDir: dir });
    const planned = await plan(recipe, settings, new Cache(dir));
    for (const l of planned.layers) fakeCacheEntry(dir, l.key, l.name);

    const kept = await cacheGc({ recipes: [path], cacheDir: dir, set });
    assert.deepEqual(kept.removed, []);
    // Without them, the recipe's own value gives another key for `system`: that one is not kept.
    const without = await cacheGc({ recipes: [path], cacheDir: dir });
    assert.deepEqual(
      without.removed.map((i) => i.name),
      ["system"],
    );
    rmSync(dir, { recursive: true, force: true });
  });
});
