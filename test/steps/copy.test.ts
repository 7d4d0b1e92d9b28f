// The copy step's own checks and cache input: sources must be inside the recipe's directory
// (symbolic links resolved), hold only files, directories and links, and the key covers the
// content of what is copied (a `from` link's target's).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, it } from "node:test";
import { filesDigest } from "../../src/cache/files-digest.js";
import { copyStep, isInside } from "../../src/steps/copy.js";
import type { StepContext } from "../../src/steps/types.js";
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

describe("copy step: links and special files", () => {
  it("follows a `from` link that stays inside the recipe's directory, and hashes its target", async () => {
    const dir = recipeDir();
    symlinkSync("files/app", join(dir, "current"));
    assert.deepEqual(copyStep.verify?.(value("current"), env(dir)), []);
    const input = (await copyStep.cacheInput?.(value("current"), { recipeDir: dir })) as {
      content: string;
    };
    assert.equal(input.content, `sha256:${await filesDigest(join(dir, "files", "app"))}`);
    writeFileSync(join(dir, "files", "app", "run.sh"), "echo changed\n");
    const after = (await copyStep.cacheInput?.(value("current"), { recipeDir: dir })) as {
      content: string;
    };
    assert.notEqual(after.content, input.content, "a change behind the link changes the key");
  });

  it("stages the link's target, and names a copied file by the name written in `from`", async () => {
    const dir = recipeDir();
    symlinkSync("files/app/run.sh", join(dir, "start.sh"));
    const staged: string[] = [];
    const scripts: string[] = [];
    const ctx = {
      recipeDir: dir,
      stageCopy: async (hostPath: string) => {
        staged.push(hostPath);
        return "/run/strata/copy-source";
      },
      sh: async (script: string) => {
        scripts.push(script);
        return "";
      },
    } as unknown as StepContext;
    await copyStep.run(ctx, { from: "start.sh", to: "/opt/" });
    assert.deepEqual(staged, [realpathSync(join(dir, "files", "app", "run.sh"))]);
    assert.match(scripts[0] ?? "", /dest='\/opt\/start\.sh'/);
  });

  it("refuses FIFOs anywhere in a source, naming them", () => {
    const dir = recipeDir();
    mkdirSync(join(dir, "files", "app", "sub"));
    execFileSync("mkfifo", [join(dir, "files", "app", "sub", "pipe")]);
    const problems = copyStep.verify?.(value("files/app"), env(dir)) ?? [];
    assert.equal(problems.length, 1);
    assert.deepEqual(problems[0]?.path, ["copy", "from"]);
    assert.match(problems[0]?.message ?? "", /sub\/pipe \(a FIFO\)/);
    assert.match(
      copyStep.verify?.(value("files/app/sub/pipe"), env(dir))[0]?.message ?? "",
      /pipe \(a FIFO\)/,
    );
  });

  it("refuses sockets", async () => {
    const dir = recipeDir();
    const server = createServer();
    await new Promise<void>((ok) => server.listen(join(dir, "files", "app", "sock"), ok));
    try {
      const problems = copyStep.verify?.(value("files"), env(dir)) ?? [];
      assert.match(problems[0]?.message ?? "", /app\/sock \(a socket\)/);
    } finally {
      server.close();
    }
  });
});
