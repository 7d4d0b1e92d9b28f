/**
 * The build plan, on the examples and a hand-made cache (no root, no build): the layers the
 * outputs add, each output's stack, what is cached, and why the rest would be built.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { resolveSettings } from "../../src/build/context.js";
import { Cache } from "../../src/cache/store.js";
import { plan, resolvePlanLayers } from "../../src/plan/plan.js";
import { loadRecipe } from "../../src/recipe/load.js";
import { ROOT, tempDir, writeRecipe, fakeCacheEntry } from "../helpers.js";

const TWO_DISKS = `name: two
layers:
  - name: base
    bootstrap: { variant: minbase, packages: [systemd-sysv] }
  - name: kernel
    packages: [linux-image-amd64]
  - name: app
    steps:
      - write: { path: /etc/app, content: "1\\n" }
outputs:
  - { type: disk, name: a }
  - { type: disk, name: b, root: persistent }
  - { type: disk, name: c, boot: bios, layer: kernel }
  - { type: tar, layer: base }
`;

describe("build plan", () => {
  const cache = tempDir("strata-cache-");
  after(() => rmSync(cache, { recursive: true, force: true }));

  it("resolves each output's top layer, stack, file and the layers it adds", () => {
    const recipe = loadRecipe(writeRecipe(TWO_DISKS));
    const { layers, outputs } = resolvePlanLayers(recipe);
    assert.deepEqual(
      outputs.map((o) => [o.name, o.top, o.stack.join(">"), o.file, o.added.boot?.at(-1)]),
      [
        ["a", "app", "base>kernel>app", "a.img", "kernel.boot-uefi-ext4"],
        ["b", "app", "base>kernel>app", "b.img", "kernel.boot-uefi-ext4"],
        ["c", "kernel", "base>kernel", "c.img", "kernel.boot-bios-ext4-store"],
        ["base", "base", "base", "base.tar.zst", undefined],
      ],
    );
    // Disks with the same boot settings share one boot layer; it sits on the kernel's layer.
    assert.deepEqual(
      layers.map((l) => [l.name, l.parent ?? null, l.addedBy?.output ?? null]),
      [
        ["base", null, null],
        ["kernel", "base", null],
        ["app", "kernel", null],
        ["kernel.boot-uefi-ext4", "kernel", 0],
        ["kernel.boot-bios-ext4-store", "kernel", 2],
      ],
    );
  });

  it("marks cached layers and says why the others would be built", async () => {
    const recipe = loadRecipe(join(ROOT, "examples/disk"));
    const settings = await resolveSettings(recipe, { cacheDir: cache });
    const first = await plan(recipe, settings, new Cache(cache));
    assert.ok(first.layers.every((l) => !l.cached));
    assert.match(first.layers[0]?.reason ?? "", /no earlier build of this layer/);

    // base cached: system and the boot layer sit on it, both still to build.
    const base = first.layers.find((l) => l.name === "base");
    fakeCacheEntry(cache, base?.key as string, "base");
    const second = await plan(recipe, settings, new Cache(cache));
    assert.deepEqual(
      second.layers.map((l) => [l.name, l.cached !== undefined]),
      [
        ["base", true],
        ["system", false],
        ["base.boot-uefi-ext4", false],
      ],
    );
    assert.equal(second.layers[0]?.reason, "cached");

    // --rebuild base: everything on it is rebuilt too, cached or not.
    for (const l of second.layers) fakeCacheEntry(cache, l.key, l.name);
    const forced = await plan(recipe, settings, new Cache(cache), { rebuild: ["base"] });
    assert.deepEqual(
      forced.layers.map((l) => [l.name, l.cached !== undefined, l.reason]),
      [
        ["base", false, "rebuilt: forced by --rebuild"],
        ["system", false, "built: no earlier build of this layer is recorded in the cache"],
        [
          "base.boot-uefi-ext4",
          false,
          "built: no earlier build of this layer is recorded in the cache",
        ],
      ],
    );
    const cached = await plan(recipe, settings, new Cache(cache));
    assert.ok(cached.layers.every((l) => l.cached));
  });

  it("names what changed since the layer's last build, from the cache's index", async () => {
    const recipe = loadRecipe(join(ROOT, "examples/disk"));
    const settings = await resolveSettings(recipe, { cacheDir: cache });
    const before = await plan(recipe, settings, new Cache(cache));
    const c = new Cache(cache);
    c.ensure();
    c.writeIndex(
      "disk",
      Object.fromEntries(before.layers.map((l) => [l.name, { key: l.key, manifest: l.manifest }])),
    );
    const changed = loadRecipe(join(ROOT, "examples/disk"), { set: { hostname: "other" } });
    const after = await plan(changed, await resolveSettings(changed, { cacheDir: cache }), c);
    const system = after.layers.find((l) => l.name === "system");
    assert.equal(system?.cached, undefined);
    assert.match(system?.reason ?? "", /^rebuilt: changed: .*hostname/);
    // The boot layer depends on the kernel's layer only: a change above it keeps it cached.
    assert.ok(after.layers.find((l) => l.addedBy)?.cached);
  });

  it("refuses --rebuild of a layer that is not in the plan", async () => {
    const recipe = loadRecipe(join(ROOT, "examples/disk"));
    const settings = await resolveSettings(recipe, { cacheDir: cache });
    await assert.rejects(plan(recipe, settings, new Cache(cache), { rebuild: ["nope"] }), {
      code: "E_USAGE",
      message: "--rebuild nope: no such layer",
    });
  });
});
