/**
 * The typed lines of the shell protocol, run through a real local `sh` (as the guest's shell
 * would run them), and the patterns that read prompts and results back.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import {
  AFTER_PASSWORD,
  AFTER_USER,
  execLines,
  execPattern,
  dropConsoleLog,
  LOGIN_PROMPT,
  readyPattern,
  setupLine,
  syncLine,
  syncPattern,
} from "../../src/vm/shell-protocol.js";

/** Types `lines` into a local sh, as the guest's shell would get them. */
function sh(lines: string[]): string {
  const r = spawnSync("sh", [], { input: `${lines.join("\n")}\n`, encoding: "utf8" });
  return r.stdout;
}

function roundTrip(command: string): { status: number; output: string } {
  const text = sh(execLines("n1-1", command));
  const m = execPattern("n1-1").exec(text);
  assert.ok(m, text);
  return { status: Number(m[2]), output: m[1] ?? "" };
}

describe("dropConsoleLog", () => {
  it("drops kernel and journald console lines and keeps the command's own", () => {
    const out = [
      "strata-3",
      "[   69.459425] strata-update[339]: strata-update: version 1 is good",
      "[ 1234.000001] virtio_net virtio0 eth0: link up",
      "[not a log] line",
      "  [   1.000000] indented is kept",
      "",
    ].join("\n");
    assert.equal(
      dropConsoleLog(out),
      ["strata-3", "[not a log] line", "  [   1.000000] indented is kept", ""].join("\n"),
    );
    assert.equal(dropConsoleLog("x"), "x");
  });
});

describe("execLines and execPattern", () => {
  it("carry a command and bring back its status and output", () => {
    assert.deepEqual(roundTrip("echo hi; echo oops >&2; exit 42"), {
      status: 42,
      output: "hi\noops\n",
    });
  });

  it("keep every byte of awkward commands", () => {
    const command = `printf '%s|' "a'b" 'c"d' '$x' '\`y\`' 'ä€'\nprintf '\\n'`;
    assert.equal(roundTrip(command).output, `a'b|c"d|$x|\`y\`|ä€|\n`);
  });

  it("split long commands into lines far below the tty's 4095-byte limit", () => {
    const lines = execLines("n1-1", `echo ${"y".repeat(20_000)} | wc -c`);
    assert.ok(lines.length > 5);
    for (const l of lines) assert.ok(l.length < 3000, `${l.length}`);
    assert.equal(roundTrip(`echo ${"y".repeat(20_000)} | wc -c`).output.trim(), "20001");
  });

  it("never print a marker in the typed text itself (echo is harmless)", () => {
    const typed = execLines("n1-1", "echo x").join("\n");
    assert.doesNotMatch(typed, /@@STRATA-BEGIN-n1-1@@/);
    assert.doesNotMatch(typed, /@@STRATA-END-n1-1-\d+@@/);
    const echoed = `${typed}\n${sh(execLines("n1-1", "echo x"))}`;
    assert.equal(execPattern("n1-1").exec(echoed)?.[1], "x\n");
  });

  it("do not match another command's markers", () => {
    assert.equal(execPattern("n1-2").exec(sh(execLines("n1-1", "true"))), null);
  });
});

describe("setup and sync lines", () => {
  it("print their markers from split strings", () => {
    const setup = setupLine("abc");
    assert.doesNotMatch(setup, readyPattern("abc"));
    assert.match(sh([setup]), readyPattern("abc"));
    assert.doesNotMatch(syncLine("abc-3"), syncPattern("abc-3"));
    assert.match(sh([syncLine("abc-3")]), syncPattern("abc-3"));
  });
});

describe("prompt patterns", () => {
  it("find getty's prompt at the start of a line, not 'Last login:'", () => {
    assert.match("\n\nkiosk login: ", LOGIN_PROMPT);
    assert.match("debian-13.local login: [  7.1] random: crng init done\n", LOGIN_PROMPT);
    assert.doesNotMatch("Last login: Mon Nov 23 02:27:02 UTC 2026 on ttyS0\n", LOGIN_PROMPT);
    assert.doesNotMatch("kiosk login:", LOGIN_PROMPT);
  });

  it("tell a password prompt, a shell prompt and a refusal apart", () => {
    assert.equal(AFTER_USER.exec("root\nPassword: ")?.[0], "Password: ");
    assert.equal(AFTER_USER.exec("Linux kiosk\nroot@kiosk:~# ")?.[0], "# ");
    assert.equal(AFTER_PASSWORD.exec("\nLogin incorrect\nkiosk login: ")?.[0], "Login incorrect");
    assert.equal(AFTER_PASSWORD.exec("user@kiosk:~$ ")?.[0], "$ ");
    assert.equal(AFTER_PASSWORD.exec("# echo\nmore"), null);
  });
});
