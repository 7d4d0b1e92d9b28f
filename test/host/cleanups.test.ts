/**
 * The undo stack, and the one signal path: in a child node process, an interrupt closes the
 * registered closers (a build context's close()), then reaps (kills the started process,
 * removes the paths, runs the `after` hooks); the CLI's handling says so and exits 130, a
 * library without it still dies of the signal; and process.exit reaps too.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Cleanups } from "../../src/host/cleanups.js";
import { tempDir } from "../helpers.js";

const dir = tempDir("strata-cleanups-test-");
after(() => rmSync(dir, { recursive: true, force: true }));

describe("Cleanups", () => {
  it("undoes in reverse and goes on after a failure", async () => {
    const done: string[] = [];
    const reported: string[] = [];
    const c = new Cleanups();
    c.push("a", () => void done.push("a"));
    c.push("b", () => {
      throw new Error("b broke");
    });
    c.push("c", async () => void done.push("c"));
    await c.runAll((m) => reported.push(m));
    assert.deepEqual(done, ["c", "a"]);
    assert.deepEqual(reported, ["cleanup 'b' failed: b broke"]);
    await c.runAll();
    assert.deepEqual(done, ["c", "a"], "each runs once");
  });
});

interface Child {
  code: number | null;
  signal: string | null;
  stderr: string;
  /** What the child wrote to its log, one event a line. */
  log: string[];
  pid: number;
  scratch: string;
}

/** Runs a child that registers a closer, a started process and a path, then ends as `how`. */
async function child(how: "cli" | "library" | "exit", signal?: NodeJS.Signals): Promise<Child> {
  const cleanupsJs = new URL("../../src/host/cleanups.js", import.meta.url).href;
  const runJs = new URL("../../src/host/run.js", import.meta.url).href;
  const base = join(dir, how);
  mkdirSync(base);
  const log = join(base, "log");
  const scratch = join(base, "scratch");
  mkdirSync(scratch);
  const script = join(base, "child.mjs");
  writeFileSync(
    script,
    `import { appendFileSync } from "node:fs";
import { handleSignals, registerCloser, trackForReaping } from ${JSON.stringify(cleanupsJs)};
import { start } from ${JSON.stringify(runJs)};
const note = (s) => appendFileSync(${JSON.stringify(log)}, s + "\\n");
${how === "cli" ? "handleSignals();" : ""}
const p = start(["sleep", "30"]);
registerCloser({ async close() { await new Promise((r) => setTimeout(r, 50)); note("closed, sleep alive: " + !p.hasExited()); } });
trackForReaping({ paths: [${JSON.stringify(scratch)}], after: () => note("after") });
process.stdout.write(p.pid + "\\n");
${how === "exit" ? "process.exit(3);" : "setInterval(() => {}, 1000);"}
`,
  );
  const p = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  p.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  const [chunk] = (await once(p.stdout, "data")) as [Buffer];
  const pid = Number(chunk.toString().trim());
  if (signal) p.kill(signal);
  const [code, sig] = (await once(p, "exit")) as [number | null, string | null];
  const text = existsSync(log) ? readFileSync(log, "utf8") : "";
  return { code, signal: sig, stderr, log: text.split("\n").filter(Boolean), pid, scratch };
}

function reaped(c: Child): void {
  assert.equal(existsSync(c.scratch), false, "the path is removed");
  let state = "";
  try {
    state = readFileSync(`/proc/${c.pid}/status`, "utf8");
  } catch {}
  assert.ok(state === "" || /^State:\s+Z/m.test(state), "the started process is killed");
}

describe("the signal path", () => {
  it("the CLI's: closes, reaps, says so and exits 130", async () => {
    const c = await child("cli", "SIGINT");
    assert.equal(c.code, 130);
    assert.match(c.stderr, /^\nstrata: SIGINT, cleaning up\n$/);
    assert.deepEqual(c.log, ["closed, sleep alive: true", "after"], "closers first, then reaping");
    reaped(c);
  });

  it("a library's: closes, reaps, then dies of the signal", async () => {
    const c = await child("library", "SIGTERM");
    assert.equal(c.signal, "SIGTERM");
    assert.equal(c.stderr, "");
    assert.deepEqual(c.log, ["closed, sleep alive: true", "after"]);
    reaped(c);
  });

  it("process.exit reaps (closers cannot run there)", async () => {
    const c = await child("exit");
    assert.equal(c.code, 3);
    assert.deepEqual(c.log, ["after"]);
    reaped(c);
  });
});
