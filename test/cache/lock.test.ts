/**
 * The cache lock is a flock(2) lock: one holder at a time, a waiter is told who holds it and
 * gets it on release, and a holder killed with SIGKILL leaves it free.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { acquireLock } from "../../src/cache/lock.js";
import { tempDir } from "../helpers.js";

const LOCK_MODULE = new URL("../../src/cache/lock.js", import.meta.url).href;

/** Whether `promise` is still pending after `ms`. */
async function pendingAfter(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const marker = Symbol("pending");
  return (await Promise.race([promise, sleep(ms, marker)])) === marker;
}

describe("acquireLock", () => {
  it("makes a second acquirer wait, names the holder, and hands over on release", async () => {
    const path = join(tempDir(), "lock");
    const first = await acquireLock(path, () => assert.fail("a free lock must not be waited for"));
    assert.match(readFileSync(path, "utf8"), new RegExp(`^${process.pid} \\d+$`));

    let waitedFor: string | undefined;
    const second = acquireLock(path, (pid) => {
      waitedFor = pid;
    });
    assert.equal(await pendingAfter(second, 500), true, "the second acquirer must wait");
    assert.equal(waitedFor, String(process.pid));
    first.release();
    (await second).release();
    // A released lock names nobody.
    assert.equal(readFileSync(path, "utf8"), "");
  });

  it("never lets two acquirers hold it at once", async () => {
    const path = join(tempDir(), "lock");
    let inside = 0;
    let most = 0;
    await Promise.all(
      [1, 2, 3, 4].map(async () => {
        const lock = await acquireLock(path, () => {});
        inside++;
        most = Math.max(most, inside);
        await sleep(30);
        inside--;
        lock.release();
      }),
    );
    assert.equal(most, 1);
  });

  it("ignores a lock file left by a holder that is gone", async () => {
    const path = join(tempDir(), "lock");
    writeFileSync(path, "999999999 12345");
    const lock = await acquireLock(path, () => assert.fail("nobody holds it"));
    lock.release();
  });

  it("is free once its holder is killed with SIGKILL", async () => {
    const path = join(tempDir(), "lock");
    const script = `const { acquireLock } = await import(${JSON.stringify(LOCK_MODULE)});
await acquireLock(${JSON.stringify(path)}, () => {});
process.stdout.write("locked\\n");
setInterval(() => {}, 1000);`;
    const holder = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const exited = new Promise((resolve) => holder.once("exit", resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on("data", (d: Buffer) => {
          if (d.toString().includes("locked")) resolve();
        });
        holder.once("exit", () => reject(new Error("the holder exited before locking")));
      });
      let waitedFor: string | undefined;
      const mine = acquireLock(path, (pid) => {
        waitedFor = pid;
      });
      assert.equal(await pendingAfter(mine, 500), true, "a live holder must be waited for");
      assert.equal(waitedFor, String(holder.pid));
      holder.kill("SIGKILL");
      await exited;
      const lock = await mine;
      assert.match(readFileSync(path, "utf8"), new RegExp(`^${process.pid} `));
      lock.release();
    } finally {
      holder.kill("SIGKILL");
    }
  });
});
