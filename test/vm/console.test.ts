/** The console buffer: cleaning, the cursor of successive waits, tails, timeouts, the end. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { StrataError } from "../../src/errors.js";
import {
  cleanConsoleText,
  ConsoleBuffer,
  KERNEL_OOPS,
  lineStart,
  LOOKBACK,
} from "../../src/vm/console.js";

describe("cleanConsoleText", () => {
  it("removes carriage returns and escape sequences, keeps the text", () => {
    assert.equal(
      cleanConsoleText(
        "\x1b[2J\x1b[01;01HBdsDxe: ok\r\n\x1b[0;32m  OK  \x1b[0m] Started\r\n\x1b[?2004h# ",
      ),
      "BdsDxe: ok\n  OK  ] Started\n# ",
    );
    assert.equal(cleanConsoleText("\x1b(B\x1b[=3hplain"), "plain");
  });
});

describe("ConsoleBuffer", () => {
  it("joins an escape sequence split across chunks before removing it", () => {
    const c = new ConsoleBuffer();
    c.append("a\x1b[0;3");
    c.append("2mb\r");
    c.append("\n");
    assert.equal(c.output, "ab\n");
  });

  it("finds a pattern that arrives later, in pieces", async () => {
    const c = new ConsoleBuffer();
    const waiting = c.waitFor(/kiosk login: /, 5000);
    c.append("Debian GNU/Linux 13 kiosk ttyS0\r\n\r\nkiosk lo");
    c.append("gin: ");
    const m = await waiting;
    assert.equal(m[0], "kiosk login: ");
    assert.equal(c.output.slice(m.index, m.index + m[0].length), "kiosk login: ");
  });

  it("matches each occurrence once: later waits start after the previous match", async () => {
    const c = new ConsoleBuffer();
    c.append("login: \nlogin: \n");
    await c.waitFor("login:", 100);
    await c.waitFor("login:", 100);
    await assert.rejects(c.waitFor("login:", 50), (e: StrataError) => e.code === "E_VM_TIMEOUT");
  });

  it("skip() consumes what was printed so far", async () => {
    const c = new ConsoleBuffer();
    c.append("old prompt login: \n");
    c.skip();
    await assert.rejects(c.waitFor("login:", 50), /timed out/);
    c.append("new login: ");
    assert.equal((await c.waitFor("login:", 50))[0], "login:");
  });

  it("treats strings literally and ignores g/y flags", async () => {
    const c = new ConsoleBuffer();
    c.append("cost: $5 (approx.)\nabc abc");
    assert.equal((await c.waitFor("$5 (approx.)", 50))[0], "$5 (approx.)");
    assert.equal((await c.waitFor(/abc/gy, 50)).index, "cost: $5 (approx.)\n".length);
  });

  it("times out with a message that quotes the last 30 lines and a hint", async () => {
    const c = new ConsoleBuffer();
    c.append(Array.from({ length: 50 }, (_, i) => `line ${i}`).join("\r\n"));
    await assert.rejects(c.waitFor(/never/, 30, "the login prompt"), (e: StrataError) => {
      assert.equal(e.code, "E_VM_TIMEOUT");
      assert.match(e.message, /waiting for the login prompt/);
      assert.match(e.message, /whose last line is "line 49"; its last lines:\n/);
      assert.match(e.message, /line 20\nline 21/);
      assert.doesNotMatch(e.message, /line 19\n/);
      assert.ok(e.hint);
      return true;
    });
  });

  it("fails pending and later waits when the output ends", async () => {
    const c = new ConsoleBuffer();
    const waiting = c.waitFor("x", 5000);
    c.end(new Error("QEMU exited"));
    await assert.rejects(waiting, /QEMU exited/);
    await assert.rejects(c.waitFor("x", 5000), /QEMU exited/);
  });

  it("still finds what was printed before the end", async () => {
    const c = new ConsoleBuffer();
    c.append("reboot: Power down\n");
    c.end(new Error("QEMU exited"));
    assert.equal((await c.waitFor("Power down", 10))[0], "Power down");
  });

  it("finds a match at the end of a long boot, searching old output only near its end", async () => {
    const c = new ConsoleBuffer();
    const waiting = c.waitFor(/^kiosk login: /m, 5000);
    const line = `${"x".repeat(99)}\n`;
    for (let i = 0; i < (3 * LOOKBACK) / 1000; i++) c.append(line.repeat(10));
    c.append("kiosk lo");
    c.append("gin: ");
    const m = await waiting;
    assert.equal(m.index, c.output.length - "kiosk login: ".length);
  });
});

describe("lineStart", () => {
  it("finds the start of the line holding a position", () => {
    assert.equal(lineStart("ab\ncd\nef", 4), 3);
    assert.equal(lineStart("ab\ncd\nef", 3), 3);
    assert.equal(lineStart("ab\ncd", 1), 0);
    assert.equal(lineStart("ab", -5), 0);
  });
});

describe("KERNEL_OOPS", () => {
  it("matches the line die() prints, on x86 old and new and on arm64", () => {
    for (const line of [
      "[    2.712345] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI",
      "[   10.000001] general protection fault: 0000 [#1] SMP PTI",
      "[    3.5] Oops: 0002 [#2] SMP",
      "[    4.100000] Internal error: Oops: 0000000096000004 [#1] PREEMPT SMP",
    ]) {
      assert.match(`boot\n${line}\nmore`, KERNEL_OOPS, line);
    }
  });

  it("does not match a deliberate panic, warnings or ordinary output", () => {
    for (const line of [
      "[    5.1] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100",
      "[    1.2] WARNING: CPU: 0 PID: 1 at kernel/fork.c:123",
      "Oops: nothing here",
      "the count was 0000 [#1]",
    ]) {
      assert.doesNotMatch(line, KERNEL_OOPS, line);
    }
  });
});
