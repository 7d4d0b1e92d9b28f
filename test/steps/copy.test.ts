// The copy step's own checks and cache input: sources must be inside the recipe's directory
// (symbolic links resolved), and the key covers the content of what is copied.
import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { filesDigest } from "../../src/cache/files-digest.js";
import { copyStep, isInside } from "../../src/steps/copy.js";
import { tempDir } from "../helpers.js";

function recipeDir(): string {
  const dir = tempDir("strata-copy-");
  mkdirSync(join(dir, "files", "app"), { recursive: true });
  writeFileSync(join(dir, "files", "app", "run.sh"), "echo hi\n");
  return dir;
}

const env = (dir: string) => ({ dir, vars: {} });
const value = (from: string) => ({ from, to: "/opt/app" });

describe("copy step", () => {
  it("is labelled by its destination", () => {
    assert.equal(copyStep.describe({ from: "files/app", to: "/opt/app" }), "/opt/app");
  });

  it("accepts a source beside the recipe", () => {
    const dir = recipeDir();
    assert.deepEqual(copyStep.verify?.(value("files/app"), env(dir)), []);
    assert.deepEqual(copyStep.verify?.(value("."), env(dir)), []);
  });

  it("rejects absolute, missing and outside sources, at copy.from", () => {
    const dir = recipeDir();
    const outside = tempDir("strata-outside-");
    symlinkSync(outside, join(dir, "escape"));
    const check = (from: string) => copyStep.verify?.(value(from), env(dir)) ?? [];
    for (const [from, message] of [
      ["/etc/passwd", /is absolute/],
      ["files/nope", /does not exist/],
      ["../x", /does not exist|outside/],
      ["escape", /outside the recipe's directory/],
    ] as const) {
      const problems = check(from);
      assert.equal(problems.length, 1, from);
      assert.deepEqual(problems[0]?.path, ["copy", "from"]);
      assert.match(problems[0]?.message ?? "", message, from);
      assert.ok(problems[0]?.hint, from);
    }
  });

  it("adds the content digest of the source to its cache input", async () => {
    const dir = recipeDir();
    const input = await copyStep.cacheInput?.(value("files/app"), { recipeDir: dir });
    const digest = await filesDigest(join(dir, "files", "app"));
    assert.deepEqual(input, { from: "files/app", to: "/opt/app", content: `sha256:${digest}` });
  });

  it("isInside resolves symbolic links", () => {
    const dir = recipeDir();
    assert.equal(isInside(dir, join(dir, "files")), true);
    assert.equal(isInside(join(dir, "files"), dir), false);
  });
});
