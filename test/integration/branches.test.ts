/**
 * One recipe, one base, two tops (examples/branches): each branch gets its own module over the
 * shared ones, outputs are built from the right stack, and changing one branch leaves the
 * other cached. Also `strata shell` in a layer's stack, and `strata cache ls`/`gc`.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { BuildResult } from "../../src/build/build.js";
import type { CacheItem } from "../../src/commands/cache.js";
import { cli, mountsUnder, needsRoot, ROOT, TEST_CACHE, tempDir } from "../helpers.js";

describe("examples/branches", { skip: needsRoot }, () => {
  let out: string;
  let recipe: string;
  let first: BuildResult;
  const build = (...args: string[]) => {
    const r = cli(["build", recipe, "--json", "--cache-dir", TEST_CACHE, "--out", out, ...args]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as BuildResult;
  };

  before(() => {
    out = tempDir("strata-out-");
    recipe = tempDir("strata-recipe-");
    cpSync(join(ROOT, "examples/branches"), recipe, { recursive: true });
  });
  after(() => {
    rmSync(out, { recursive: true, force: true });
    rmSync(recipe, { recursive: true, force: true });
  });

  it("builds both branches over one shared base", () => {
    first = build();
    assert.deepEqual(
      first.layers.map((l) => [l.file, l.parent]),
      [
        ["01-base.sqfs", null],
        ["02-console.sqfs", "base"],
        ["03-smtp.sqfs", "console"],
        ["03-web.sqfs", "console"],
      ],
    );
    assert.equal(readFileSync(join(out, "web/etc/strata-role"), "utf8"), "web\n");
    assert.equal(readFileSync(join(out, "web/srv/www/index.html"), "utf8"), "hello from node\n");
    const smtp = execFileSync(
      "tar",
      ["--zstd", "-xOf", join(out, "smtp.tar.zst"), "./etc/strata-role"],
      {
        encoding: "utf8",
      },
    );
    assert.equal(smtp, "smtp\n");
    const list = execFileSync("tar", ["--zstd", "-tf", join(out, "smtp.tar.zst")], {
      encoding: "utf8",
      maxBuffer: 64 << 20,
    });
    assert.doesNotMatch(list, /\/srv\/www/, "the web branch is not in the smtp output");
    assert.match(list, /\.\/usr\/bin\/less\n/);
  });

  it("rebuilds only the branch that changed", () => {
    // A value no earlier run has built, so the shared test cache cannot already hold it.
    const role = `www-${process.pid}-${Date.now()}`;
    const file = join(recipe, "strata.yaml");
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace('content: "web\\n"', `content: "${role}\\n"`),
    );
    const r = build();
    assert.deepEqual(
      r.layers.map((l) => [l.name, l.cached]),
      [
        ["base", true],
        ["console", true],
        ["smtp", true],
        ["web", false],
      ],
    );
    assert.equal(readFileSync(join(out, "web/etc/strata-role"), "utf8"), `${role}\n`);
  });

  it("opens a shell in a layer's stack and throws its changes away", () => {
    const r = cli([
      "shell",
      recipe,
      "smtp",
      "--cache-dir",
      TEST_CACHE,
      "-c",
      "cat /etc/strata-role; touch /tmp-file; echo ok > /etc/scratch",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "smtp\n");
    const again = cli([
      "shell",
      recipe,
      "smtp",
      "--cache-dir",
      TEST_CACHE,
      "-c",
      "test ! -e /etc/scratch",
    ]);
    assert.equal(again.code, 0, again.stderr);
    const fails = cli(["shell", recipe, "web", "--cache-dir", TEST_CACHE, "-c", "exit 7"]);
    assert.equal(fails.code, 7, "the command's exit status is strata's");
    assert.deepEqual(mountsUnder(TEST_CACHE), []);
  });

  it("lists the cache and collects what no recipe uses", () => {
    const ls = cli(["cache", "ls", "--json", "--cache-dir", TEST_CACHE]);
    assert.equal(ls.code, 0, ls.stderr);
    const items = JSON.parse(ls.stdout).layers as CacheItem[];
    const oldWeb = first.layers.find((l) => l.name === "web")?.key;
    assert.ok(
      items.some((i) => i.key === oldWeb),
      "the first web layer is still cached",
    );

    // Keep what this recipe and the test suite's other recipes use; the old web layer goes.
    const keepers = ["minimal", "arm64", "disk", "arm64-disk"].map((e) =>
      join(ROOT, "examples", e),
    );
    keepers.unshift(recipe);
    const gc = cli(["cache", "gc", ...keepers, "--json", "--cache-dir", TEST_CACHE]);
    assert.equal(gc.code, 0, gc.stderr);
    const result = JSON.parse(gc.stdout) as { removed: CacheItem[]; kept: CacheItem[] };
    assert.ok(result.removed.some((i) => i.key === oldWeb));
    assert.ok(!existsSync(join(TEST_CACHE, "layers", oldWeb ?? "x")));
    assert.equal(
      build().layers.every((l) => l.cached),
      true,
      "what the recipe uses was kept",
    );
  });
});
