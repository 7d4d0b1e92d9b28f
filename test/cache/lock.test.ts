import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { acquireLock } from "../../src/cache/lock.js";
import { tempDir } from "../helpers.js";

it("takes over a lock whose holder is gone, and waits for a live one", async () => {
  const path = join(tempDir(), "lock");
  writeFileSync(path, "999999999 12345");
  const lock = await acquireLock(path, () => assert.fail("a dead holder must not be waited for"));
  assert.match(readFileSync(path, "utf8"), new RegExp(`^${process.pid} `));

  let waitedFor: string | undefined;
  const second = acquireLock(path, (pid) => {
    waitedFor = pid;
  });
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(waitedFor, String(process.pid));
  lock.release();
  (await second).release();
  assert.equal(existsSync(path), false);
});
