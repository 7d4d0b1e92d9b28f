import assert from "node:assert/strict";
import { chmodSync, mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { filesDigest } from "../../src/cache/files-digest.js";
import { tempDir } from "../helpers.js";

it("covers content, names, modes and links, not timestamps", async () => {
  const dir = tempDir();
  mkdirSync(join(dir, "sub"));
  writeFileSync(join(dir, "sub", "a"), "one");
  symlinkSync("sub/a", join(dir, "link"));
  const first = await filesDigest(dir);

  utimesSync(join(dir, "sub", "a"), 1, 1);
  assert.equal(await filesDigest(dir), first, "timestamps do not count");

  writeFileSync(join(dir, "sub", "a"), "two");
  const second = await filesDigest(dir);
  assert.notEqual(second, first, "content counts");

  chmodSync(join(dir, "sub", "a"), 0o755);
  assert.notEqual(await filesDigest(dir), second, "mode counts");
});

it("follows a root that is a link, and hashes links inside as their text", async () => {
  const dir = tempDir();
  mkdirSync(join(dir, "tree"));
  writeFileSync(join(dir, "tree", "a"), "one");
  symlinkSync("tree", join(dir, "root-link"));
  assert.equal(await filesDigest(join(dir, "root-link")), await filesDigest(join(dir, "tree")));

  symlinkSync("a", join(dir, "tree", "inner"));
  const withLink = await filesDigest(join(dir, "tree"));
  writeFileSync(join(dir, "tree", "a"), "two");
  const changed = await filesDigest(join(dir, "tree"));
  rmSync(join(dir, "tree", "inner"));
  symlinkSync("b", join(dir, "tree", "inner"));
  assert.notEqual(await filesDigest(join(dir, "tree")), changed, "the link's text counts");
  assert.notEqual(changed, withLink);
});
