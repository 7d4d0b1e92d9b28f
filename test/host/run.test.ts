/**
 * run() and runSync() with real processes: what a failure says (the command line as asked,
 * the exit code or signal, the tail of the output), what reject: false returns, a missing
 * command's hint, and output lines as they come.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { StrataError } from "../../src/errors.js";
import { commandLine, run, runSync, TAIL_LINES, tail } from "../../src/host/run.js";

async function failure(p: Promise<unknown>): Promise<StrataError> {
  try {
    await p;
  } catch (e) {
    return e as StrataError;
  }
  assert.fail("expected a rejection");
}

describe("run", () => {
  it("returns stdout and the interleaved output", async () => {
    const r = await run("sh", ["-c", "echo out; echo err >&2"]);
    assert.deepEqual(r, { exitCode: 0, stdout: "out\n", output: "out\nerr\n" });
  });

  it("reports the command line, the exit code and the output's tail", async () => {
    const e = await failure(run("sh", ["-c", "echo out; echo err >&2; exit 3"]));
    assert.equal(e.code, "E_COMMAND_FAILED");
    assert.equal(
      e.message,
      "command failed with exit code 3: sh -c 'echo out; echo err >&2; exit 3'\nout\nerr",
    );
  });

  it(`keeps only the last ${TAIL_LINES} lines of the output`, async () => {
    const e = await failure(run("sh", ["-c", "seq 1 40; exit 1"]));
    const lines = e.message.split("\n").slice(1);
    assert.equal(lines.length, TAIL_LINES);
    assert.equal(lines[0], String(40 - TAIL_LINES + 1));
    assert.equal(lines.at(-1), "40");
  });

  it("names the signal that killed the command", async () => {
    const e = await failure(run("sh", ["-c", "kill -TERM $$"]));
    assert.match(e.message, /^command failed with exit code 143 \(killed by SIGTERM\): sh -c/);
  });

  it("returns a failure when told not to reject", async () => {
    const r = await run("sh", ["-c", "echo no; exit 5"], { reject: false });
    assert.equal(r.exitCode, 5);
    assert.equal(r.output, "no\n");
  });

  it("says how to find a missing command", async () => {
    const e = await failure(run("strata-no-such-command", []));
    assert.equal(e.code, "E_COMMAND_FAILED");
    assert.match(e.message, /^could not start strata-no-such-command/);
    assert.match(e.hint ?? "", /strata doctor/);
  });

  it("passes input and env, and gives each output line as it comes", async () => {
    const lines: string[] = [];
    const r = await run("sh", ["-c", 'cat; echo "$X"; echo warn >&2'], {
      input: "in\n",
      env: { X: "ex" },
      onLine: (l) => lines.push(l),
    });
    assert.equal(r.stdout, "in\nex\n");
    assert.deepEqual(lines.sort(), ["ex", "in", "warn"]);
  });
});

describe("runSync", () => {
  it("returns stdout, then stderr, as output", () => {
    const r = runSync("sh", ["-c", "echo out; echo err >&2"]);
    assert.deepEqual(r, { exitCode: 0, stdout: "out\n", output: "out\nerr\n" });
  });

  it("reports a failure as run() does", () => {
    assert.throws(
      () => runSync("sh", ["-c", "echo bad >&2; exit 2"]),
      (e: StrataError) =>
        e.code === "E_COMMAND_FAILED" &&
        e.message === "command failed with exit code 2: sh -c 'echo bad >&2; exit 2'\nbad",
    );
    assert.equal(runSync("false", [], { reject: false }).exitCode, 1);
  });

  it("says how to find a missing command", () => {
    assert.throws(
      () => runSync("strata-no-such-command", []),
      (e: StrataError) => /^could not start/.test(e.message) && /doctor/.test(e.hint ?? ""),
    );
  });
});

describe("commandLine and tail", () => {
  it("quotes only what the shell would split or expand", () => {
    assert.equal(
      commandLine(["mount", "-o", "loop,ro", "a b", "it's", "$x"]),
      `mount -o loop,ro 'a b' 'it'\\''s' '$x'`,
    );
  });

  it("keeps the last lines without the trailing newline", () => {
    assert.equal(tail("a\nb\nc\n", 2), "b\nc");
  });
});
