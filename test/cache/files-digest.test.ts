import assert from "node:assert/strict";
import { chmodSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
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
