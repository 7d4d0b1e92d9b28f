/**
 * start() with real processes: the handle's exit and stderr tail, stop() escalating to
 * SIGKILL, reaping (process killed, paths removed) and the parent-death signal (a SIGKILLed
 * parent takes its started processes along).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, describe, it } from "node:test";
import { reapAll } from "../../src/host/cleanups.js";
import { start } from "../../src/host/run.js";
import { which } from "../../src/host/tools.js";
import { tempDir } from "../helpers.js";

const dir = tempDir("strata-start-test-");
after(() => rmSync(dir, { recursive: true, force: true }));

/** Whether `pid` runs (a zombie waiting for its parent does not). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && alive(pid); i++) await sleep(20);
  return !alive(pid);
}

describe("start", () => {
  it("reports the exit and keeps the tail of stderr", async () => {
    const p = start(["sh", "-c", "echo one >&2; echo two >&2; exit 4"]);
    assert.deepEqual(await p.exited, { code: 4, signal: null });
    assert.equal(p.hasExited(), true);
    assert.equal(p.stderrTail(1), "two");
    assert.equal(p.stderrText(), "one\ntwo\n");
    assert.deepEqual(p.argv, ["sh", "-c", "echo one >&2; echo two >&2; exit 4"]);
    p.release();
  });

  it("kills, and stop() escalates to SIGKILL after the grace time", async () => {
    const a = start(["sleep", "30"]);
    assert.equal(a.hasExited(), false);
    await a.kill();
    assert.deepEqual(await a.exited, { code: null, signal: "SIGKILL" });
    a.release();

    const b = start(["sh", "-c", "trap '' TERM; exec sleep 30"]);
    await sleep(100);
    const t = Date.now();
    await b.stop(300);
    assert.equal((await b.exited).signal, "SIGKILL");
    assert.ok(Date.now() - t >= 250, "waited for the grace time");
    b.release();
  });

  it("is reaped: the process is killed and its paths removed", async () => {
    const path = join(dir, "scratch");
    mkdirSync(path);
    writeFileSync(join(path, "f"), "x");
    const p = start(["sleep", "30"], { paths: [path] });
    reapAll();
    assert.equal((await p.exited).signal, "SIGKILL");
    assert.equal(existsSync(path), false);
  });

  it(
    "dies with its parent, even a SIGKILLed one",
    { skip: which("setpriv") ? false : "needs setpriv (util-linux)" },
    async () => {
      const runJs = new URL("../../src/host/run.js", import.meta.url).href;
      const script = join(dir, "parent.mjs");
      writeFileSync(
        script,
        `import { start } from ${JSON.stringify(runJs)};
const p = start(["sleep", "30"]);
process.stdout.write(p.pid + "\\n");
setInterval(() => {}, 1000);
`,
      );
      const parent = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "inherit"] });
      const [chunk] = (await once(parent.stdout, "data")) as [Buffer];
      const pid = Number(chunk.toString().trim());
      assert.ok(alive(pid), "the started process runs");
      parent.kill("SIGKILL");
      await once(parent, "exit");
      assert.ok(await gone(pid), "the started process died with its parent");
    },
  );
});
