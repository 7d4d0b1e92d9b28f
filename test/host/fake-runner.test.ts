/**
 * The FakeRunner behind the runner seam: rules by name, pattern or function, the default
 * answer, what it records (argv after namespace wrapping, env, input), run()'s errors for its
 * failures, fake long-lived processes, and withRunner() putting the system's runner back.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { StrataError } from "../../src/errors.js";
import { FakeRunner } from "../../src/host/fake-runner.js";
import type { Namespace } from "../../src/host/namespace.js";
import { run, runSync, start, withRunner } from "../../src/host/run.js";

const ns = {
  wrap: (argv: readonly string[]) => ["nsenter", "--target=7", "--", ...argv],
  view: (path: string) => `/proc/7/root${path}`,
} as unknown as Namespace;

describe("FakeRunner", () => {
  it("answers from the first matching rule, else exit 0 with no output", async () => {
    const fake = new FakeRunner()
      .on("apt-config", { stdout: "A='/x/'\n" })
      .on(/^mount -t overlay /, { exitCode: 32, output: "mount: no\n" })
      .on((argv) => argv.includes("--magic"), { exitCode: 7 })
      .on("mount", { stdout: "never reached for overlay" });
    await withRunner(fake, async () => {
      assert.equal((await run("/usr/bin/apt-config", ["shell"])).stdout, "A='/x/'\n");
      const r = await run("mount", ["-t", "overlay", "o", "/m"], { reject: false });
      assert.deepEqual(r, { exitCode: 32, stdout: "", output: "mount: no\n" });
      assert.equal((await run("tool", ["--magic"], { reject: false })).exitCode, 7);
      assert.deepEqual(await run("true", []), { exitCode: 0, stdout: "", output: "" });
    });
  });

  it("records argv after namespace wrapping, the command as asked, env and input", async () => {
    const fake = new FakeRunner();
    await withRunner(fake, async () => {
      await run("sh", ["-c", "cat"], { ns, input: "hi", env: { A: "1" }, cwd: "/tmp" });
      runSync("stty", ["sane"]);
    });
    assert.deepEqual(fake.calls, [
      {
        kind: "run",
        argv: ["nsenter", "--target=7", "--", "sh", "-c", "cat"],
        command: ["sh", "-c", "cat"],
        env: { A: "1" },
        input: "hi",
        cwd: "/tmp",
      },
      {
        kind: "runSync",
        argv: ["stty", "sane"],
        command: ["stty", "sane"],
        env: undefined,
        input: undefined,
        cwd: undefined,
      },
    ]);
    assert.deepEqual(fake.commands(), ["sh -c cat", "stty sane"]);
    assert.deepEqual(fake.commands("runSync"), ["stty sane"]);
  });

  it("makes run() fail as a real command would, with the command as asked", async () => {
    const fake = new FakeRunner().on("mksquashfs", { exitCode: 1, output: "a\nFATAL: full\n" });
    const lines: string[] = [];
    await withRunner(fake, () =>
      assert.rejects(
        run("mksquashfs", ["/d", "/o"], { ns, onLine: (l) => lines.push(l) }),
        (e: StrataError) =>
          e.code === "E_COMMAND_FAILED" &&
          e.message === "command failed with exit code 1: mksquashfs /d /o\na\nFATAL: full",
      ),
    );
    assert.deepEqual(lines, ["a", "FATAL: full"]);
  });

  it("starts fake processes that run until stopped, or exit as told", async () => {
    const fake = new FakeRunner().on("qemu-system-x86_64", { exitCode: 1, stderr: "bad -m\n" });
    await withRunner(fake, async () => {
      const holder = start(["sleep", "infinity"]);
      assert.equal(holder.hasExited(), false);
      await holder.stop();
      assert.deepEqual(await holder.exited, { code: null, signal: "SIGTERM" });

      const qemu = start(["qemu-system-x86_64", "-m", "x"]);
      assert.deepEqual(await qemu.exited, { code: 1, signal: null });
      assert.equal(qemu.stderrTail(), "bad -m");
    });
    assert.deepEqual(fake.commands("start"), ["sleep infinity", "qemu-system-x86_64 -m x"]);
  });

  it("withRunner restores the system's runner, also after a throw", async () => {
    const fake = new FakeRunner();
    await assert.rejects(
      withRunner(fake, () => {
        throw new Error("boom");
      }),
      /boom/,
    );
    const r = await run("sh", ["-c", "echo real"]);
    assert.equal(r.stdout, "real\n");
    assert.equal(fake.calls.length, 0);
  });
});
