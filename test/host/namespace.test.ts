/**
 * The build namespace (as root): its holder is started through start(), commands entered into
 * it see their own PID namespace and mounts, and close() ends it. Without root it is skipped.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it } from "node:test";
import { Namespace } from "../../src/host/namespace.js";
import { run } from "../../src/host/run.js";
import { isRoot } from "../helpers.js";

describe("Namespace", { skip: isRoot ? false : "needs root" }, () => {
  it("runs commands inside, with their own mounts, and ends with close()", async () => {
    const ns = await Namespace.create();
    try {
      const r = await run(
        "sh",
        ["-c", "mount -t tmpfs strata-ns-test /mnt && grep -c strata-ns-test /proc/mounts"],
        { ns },
      );
      assert.equal(r.stdout.trim(), "1");
      assert.equal(
        (
          await run("grep", ["-c", "strata-ns-test", "/proc/mounts"], { reject: false })
        ).stdout.trim(),
        "0",
        "the host does not see the mount",
      );
      assert.ok(existsSync(ns.view("/proc/1")));
    } finally {
      await ns.close();
    }
    for (let i = 0; i < 100 && existsSync(`/proc/${ns.pid}/root/mnt`); i++) await sleep(20);
    assert.equal(existsSync(`/proc/${ns.pid}/root/mnt`), false, "the namespace's init is gone");
  });
});
