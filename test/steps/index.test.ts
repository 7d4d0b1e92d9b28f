// The step registry: every kind has one definition filed under its own name, the recipe's
// `Step` schema is assembled from them, the README's table says what each `doc` says, and the
// cache key of a known layer stays byte-identical (a changed key rebuilds every user's cache).
import assert from "node:assert/strict";
import { chmodSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import type { Settings } from "../../src/build/context.js";
import { layerManifest } from "../../src/build/keys.js";
import { digestOf } from "../../src/cache/canonical.js";
import type { StrataError } from "../../src/errors.js";
import { loadRecipe } from "../../src/recipe/load.js";
import { Step, STEP_KINDS } from "../../src/recipe/schema.js";
import { STEPS, stepCacheInput, stepObjectKeys } from "../../src/steps/index.js";
import { ROOT, writeRecipe } from "../helpers.js";
import { SAMPLES } from "./samples.js";

describe("step registry", () => {
  it("has one definition per kind, filed under its own kind, in STEP_KINDS order", () => {
    assert.deepEqual([...STEP_KINDS], Object.keys(STEPS));
    for (const [kind, def] of Object.entries(STEPS)) {
      assert.equal(def.kind, kind);
      assert.equal(typeof def.run, "function", kind);
      assert.ok(def.doc.length > 0 && !def.doc.includes("\n"), `${kind}: doc is one line`);
      assert.ok(def.schema.description, `${kind}: its schema has a .describe() text`);
    }
  });

  it("assembles Step from the step schemas", () => {
    for (const [kind, value] of Object.entries(SAMPLES)) {
      assert.deepEqual(Step.parse({ [kind]: value }), { [kind]: value }, kind);
    }
    assert.equal(Step.safeParse({ hostname: "a", timezone: "UTC" }).success, false);
    assert.equal(Step.safeParse({}).success, false);
    assert.equal(Step.safeParse({ hostname: "bad_host!" }).success, false);
    assert.equal(Step.safeParse({ reboot: true }).success, false);
  });

  it("each doc is the README's line for its step", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8").split("\n");
    for (const [kind, def] of Object.entries(STEPS)) {
      const row = readme.find((l) => l.startsWith(`| \`${kind}:`));
      assert.ok(row, `README has a row for ${kind}`);
      assert.equal(row.split(" | ").at(-1)?.replace(/ \|$/, ""), def.doc, kind);
    }
  });

  it("lists the keys of every object in a step, for 'did you mean' hints", () => {
    const keys = new Map(stepObjectKeys());
    assert.deepEqual(keys.get("copy"), ["from", "to", "mode", "owner"]);
    assert.deepEqual(keys.get("run"), ["name", "script", "env", "network"]);
    assert.ok(keys.get("users/#")?.includes("ssh_authorized_keys"));
    assert.deepEqual(keys.get("groups/#"), ["name", "gid", "system"]);
    assert.equal(keys.has("packages"), false);
  });

  it("hints at a step's own keys when a recipe misspells one", () => {
    const path = writeRecipe(`name: t
layers:
  - name: base
    bootstrap: { variant: minbase }
    steps:
      - copy: { from: ., too: /x }
      - groups: [{ name: web, gdi: 5 }]
`);
    assert.throws(
      () => loadRecipe(path),
      (e: StrataError) => {
        const hints = e.problems.filter((p) => /unknown key/.test(p.message)).map((p) => p.hint);
        assert.deepEqual(hints, ["did you mean 'to'?", "did you mean 'gid'?"]);
        return true;
      },
    );
  });

  it("puts a step's raw value in the cache key unless it has a cacheInput", async () => {
    const step = { run: { name: "x", script: "true" } };
    assert.equal(await stepCacheInput("run", step, { recipeDir: "/nonexistent" }), step);
  });
});

describe("layer key manifest", () => {
  it("is byte-identical to the one strata wrote before steps owned their cache input", async () => {
    const path = writeRecipe(
      `name: pin
layers:
  - name: base
    bootstrap: { variant: minbase }
  - name: app
    packages: [curl]
    steps:
      - copy: { from: files/app, to: /opt/app, mode: "0755" }
      - run: { name: hello, script: "echo hello" }
`,
      { "files/app/run.sh": "echo hi\n" },
    );
    const app = join(dirname(path), "files", "app");
    chmodSync(app, 0o755);
    chmodSync(join(app, "run.sh"), 0o755);
    const recipe = loadRecipe(path);
    const settings = {
      recipe,
      distro: {
        suite: "trixie",
        arch: "amd64",
        mirror: "http://mirror.example/debian",
        security: undefined,
        updates: true,
        components: ["main"],
        recommends: false,
      },
      epoch: 1735689600,
    } as unknown as Settings;
    const layer = recipe.layers[1];
    assert.ok(layer);
    const manifest = await layerManifest(settings, layer, "0".repeat(64));
    assert.deepEqual(manifest.steps, [
      { packages: ["curl"] },
      {
        copy: {
          from: "files/app",
          to: "/opt/app",
          mode: "0755",
          content: "sha256:efa4c040cba4fa80e867c29c1c1b402e591ce2df72bf02ff167b0325193789a7",
        },
      },
      { run: { name: "hello", script: "echo hello" } },
    ]);
    // Pinned for strata-layer/3: a change here changes every cache key, so it must be deliberate.
    assert.equal(
      digestOf(manifest),
      "a9670b9521f238614aec654a5f8eca1ad8ef5ac437c89a2b67b5354de1bb6c95",
    );
  });
});
