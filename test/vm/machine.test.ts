/**
 * The Machine's console protocol (login, exec, interrupt, reboot, poweroff) and its cleanup,
 * against the FAKE qemu of fake-qemu.ts: a scripted getty and a real bash behind a pipe.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { StrataError } from "../../src/errors.js";
import { type BootOptions, bootMachine, type Machine } from "../../src/vm/machine.js";
import { tempDir } from "../helpers.js";
import { entriesWith, fakeImage, installFakeQemu, processesWith } from "./fake.js";

const dir = tempDir("strata-vm-test-");
const tmp = join(dir, "tmp");
const savedPath = process.env.PATH;
let image: string;

before(() => {
  process.env.PATH = `${installFakeQemu(dir)}:${savedPath}`;
  rmSync(tmp, { recursive: true, force: true });
  image = fakeImage(dir);
  // The temporary directories of the machines go here, so the test can see them go.
  statSync(dir);
});
after(() => {
  process.env.PATH = savedPath;
  rmSync(dir, { recursive: true, force: true });
});

/** Boots the fake with FAKE_QEMU_* settings; the caller closes the machine. */
async function boot(
  env: Record<string, string> = {},
  options: Partial<BootOptions> = {},
): Promise<Machine> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return await bootMachine({
      image,
      arch: "amd64",
      boot: "bios",
      accel: "tcg",
      tmpDir: dir,
      ...options,
    });
  } finally {
    for (const k of Object.keys(env)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<Error> {
  try {
    await p;
  } catch (e) {
    assert.equal((e as StrataError).code, code, (e as Error).message);
    if (message) assert.match((e as Error).message, message);
    return e as Error;
  }
  assert.fail(`expected ${code}`);
}

describe("login and exec", () => {
  let m: Machine;
  before(async () => {
    m = await boot();
    await m.login("root", "", { timeoutMs: 30_000 });
  });
  after(() => m.close());

  it("returns the exit status and the output, stderr included", async () => {
    const r = await m.exec("echo out; echo err >&2; exit 3");
    assert.deepEqual(r, { status: 3, output: "out\nerr\n" });
  });

  it("keeps output without a final newline as it is", async () => {
    assert.deepEqual(await m.exec("printf 'a\\nb'"), { status: 0, output: "a\nb" });
    assert.deepEqual(await m.exec("true"), { status: 0, output: "" });
  });

  it("passes quotes, dollars and newlines through untouched", async () => {
    const r = await m.exec(`x='it'"'"'s $HOME'\necho "$x" \`echo tick\``);
    assert.equal(r.output, "it's $HOME tick\n");
  });

  it("runs commands longer than a tty line", async () => {
    const r = await m.exec(`printf %s '${"x".repeat(10_000)}' | wc -c`);
    assert.equal(r.output.trim(), "10000");
  });

  it("gives each command stdin from /dev/null, so it cannot eat later input", async () => {
    const r = await m.exec("cat; echo done");
    assert.equal(r.output, "done\n");
  });

  it("records when the login prompt came", () => {
    assert.equal(typeof m.secondsToLogin, "number");
    assert.ok((m.secondsToLogin as number) >= 0);
  });

  it("keeps the console free of carriage returns and escape sequences", () => {
    assert.match(m.output, /fake login: /);
    assert.doesNotMatch(m.output, /[\r\x1b]/);
  });

  it("interrupts a command that times out and stays usable", async () => {
    await rejectsWith(
      m.exec("sleep 30", { timeoutMs: 300 }),
      "E_VM_TIMEOUT",
      /waiting for the end of `sleep 30`/,
    );
    assert.deepEqual(await m.exec("echo again"), { status: 0, output: "again\n" });
  });

  it("finds literal strings and patterns only after the previous match", async () => {
    m.send("echo 'one (1) [x]'; echo two\n");
    const a = await m.waitFor("one (1) [x]", 5000);
    assert.equal(a[0], "one (1) [x]");
    await m.waitFor(/two/, 5000);
    await rejectsWith(m.waitFor(/two/, 200), "E_VM_TIMEOUT", /two/);
  });
});

describe("a guest that echoes every typed line", () => {
  it("still tells the command's output from the echo", async () => {
    const m = await boot({ FAKE_QEMU_ECHO: "always" });
    try {
      await m.login();
      const r = await m.exec("echo '@@STRATA-END-1-0@@ is not a marker'; exit 7");
      assert.deepEqual(r, { status: 7, output: "@@STRATA-END-1-0@@ is not a marker\n" });
    } finally {
      await m.close();
    }
  });
});

describe("passwords", () => {
  it("answers the password prompt", async () => {
    const m = await boot({ FAKE_QEMU_MODE: "password", FAKE_QEMU_PASSWORD: "s3cret" });
    try {
      await m.login("root", "s3cret");
      assert.equal((await m.exec("echo in")).output, "in\n");
    } finally {
      await m.close();
    }
  });

  it("reports a refused login with a hint about the recipe's password", async () => {
    const m = await boot({ FAKE_QEMU_MODE: "password", FAKE_QEMU_PASSWORD: "s3cret" });
    try {
      const e = await rejectsWith(m.login("root", "wrong"), "E_VM", /login as root failed/);
      assert.match((e as StrataError).hint ?? "", /tests\.login\.password/);
    } finally {
      await m.close();
    }
  });

  it("refuses exec before login", async () => {
    const m = await boot();
    try {
      await rejectsWith(m.exec("true"), "E_VM", /before login/);
    } finally {
      await m.close();
    }
  });
});

describe("reboot and poweroff", () => {
  it("reboots to the next login prompt, where login() goes on", async () => {
    const m = await boot();
    try {
      await m.login();
      await m.exec("echo before");
      const seconds = await m.reboot({ timeoutMs: 30_000 });
      assert.equal(typeof seconds, "number");
      assert.match(m.output, /reboot: Restarting system/);
      await rejectsWith(m.exec("true"), "E_VM", /before login/);
      await m.login("root", "", { timeoutMs: 30_000 });
      assert.equal((await m.exec("echo after")).output, "after\n");
    } finally {
      await m.close();
    }
  });

  it("powers off and returns QEMU's exit code", async () => {
    const m = await boot();
    try {
      await m.login();
      assert.equal(await m.poweroff({ timeoutMs: 30_000 }), 0);
      assert.equal(m.running, false);
    } finally {
      await m.close();
    }
  });
});

describe("the stall guard", () => {
  it("resets a reboot that stalls before its kernel runs, once, and says so", async () => {
    const m = await boot({ FAKE_QEMU_STALL: "once" }, { stallResetMs: 500 });
    try {
      await m.login();
      await m.reboot({ timeoutMs: 30_000 });
      assert.equal(m.resets, 1);
      assert.match(m.output, /\[strata: the boot printed nothing for 0\.5 s before its kernel ran/);
      await m.login("root", "", { timeoutMs: 30_000 });
      assert.equal((await m.exec("echo after")).output, "after\n");
      // A second reboot does not stall: nothing more is reset.
      await m.reboot({ timeoutMs: 30_000 });
      assert.equal(m.resets, 1);
    } finally {
      await m.close();
    }
  });

  it("resets a boot once only: a boot that stalls again fails its wait", async () => {
    const m = await boot({ FAKE_QEMU_STALL: "always" }, { stallResetMs: 300 });
    try {
      await m.login();
      await rejectsWith(m.reboot({ timeoutMs: 3000 }), "E_VM_TIMEOUT", /resetting the machine/);
      assert.equal(m.resets, 1);
    } finally {
      await m.close();
    }
  });

  it("leaves a running system alone, however long a command is silent", async () => {
    const m = await boot({}, { stallResetMs: 300 });
    try {
      await m.login();
      assert.equal((await m.exec("sleep 1; echo done")).output, "done\n");
      assert.equal(m.resets, 0);
    } finally {
      await m.close();
    }
  });

  it("passes QEMU a monitor socket in the machine's own directory", async () => {
    const m = await boot();
    try {
      const i = m.argv.indexOf("-monitor");
      assert.match(
        m.argv[i + 1] ?? "",
        /^unix:.*\/strata-vm-[^/]+\/monitor\.sock,server=on,wait=off$/,
      );
    } finally {
      await m.close();
    }
  });
});

describe("failures", () => {
  it("reports a QEMU that exits early with its command line and stderr", async () => {
    const m = await boot({ FAKE_QEMU_MODE: "exit" });
    try {
      const e = await rejectsWith(m.login(), "E_VM", /QEMU exited with code 1/);
      assert.match(e.message, /qemu-system-x86_64 -name strata -machine q35/);
      assert.match(e.message, /Could not open/);
    } finally {
      await m.close();
    }
  });

  it("times out with the last lines of the console", async () => {
    const m = await boot({ FAKE_QEMU_MODE: "silent" });
    try {
      const e = await rejectsWith(m.login("root", "", { timeoutMs: 300 }), "E_VM_TIMEOUT");
      assert.match(e.message, /waiting for the login prompt/);
      assert.match(e.message, /Linux version 6\.1\.0-fake/);
    } finally {
      await m.close();
    }
  });
});

describe("a guest kernel that oopses", () => {
  it("fails the wait at once, quoting the trace, with a hint about TCG's vCPUs", async () => {
    const m = await boot({ FAKE_QEMU_MODE: "oops" });
    try {
      const started = Date.now();
      const e = await rejectsWith(m.login(), "E_VM_GUEST_CRASH", /Oops: int3: 0000 \[#1\]/);
      assert.ok(Date.now() - started < 30_000, "not the ten-minute boot timeout");
      assert.match(e.message, /RIP: 0010:sched_clock_cpu/);
      assert.match((e as StrataError).hint ?? "", /vCPU/);
      assert.equal(m.running, true, "the machine stays up until close()");
    } finally {
      await m.close();
    }
  });
});

describe("disks, logs and cleanup", () => {
  it("boots a copy, leaves the image alone and removes everything on close", async () => {
    const log = join(dir, "console.log");
    const m = await boot({}, { consoleLog: log, diskSizeBytes: 128 * 1024 * 1024 });
    const pid = m.pid;
    await m.login();
    const disk = m.disk;
    assert.ok(disk !== undefined && disk !== image);
    assert.ok(m.argv.some((a) => a.includes(`cache=unsafe,file=${disk}`)));
    assert.equal(statSync(disk).size, 128 * 1024 * 1024);
    assert.equal(statSync(image).size, 64 * 1024 * 1024);
    assert.equal(entriesWith(dir, "strata-vm-").length, 1);
    await m.close();
    await m.close();
    assert.deepEqual(entriesWith(dir, "strata-vm-"), []);
    assert.equal(existsSync(disk), false);
    assert.deepEqual(processesWith(disk), []);
    assert.throws(() => process.kill(pid, 0));
    assert.match(readFileSync(log, "utf8"), /fake login: \r?\n?/);
    assert.match(readFileSync(log, "utf8"), /\r\n/, "the log is the raw console");
  });

  it("boots the image itself with copy: false", async () => {
    const m = await boot({}, { copy: false });
    try {
      assert.equal(m.disk, image);
      assert.ok(m.argv.some((a) => a.endsWith(`cache=writeback,file=${image}`)));
    } finally {
      await m.close();
    }
    assert.ok(existsSync(image), "close() never removes the image it was given");
  });

  it("refuses to shrink a disk", async () => {
    await rejectsWith(boot({}, { diskSizeBytes: 1024 }), "E_USAGE", /smaller than the image/);
    assert.deepEqual(entriesWith(dir, "strata-vm-"), []);
  });

  it("refuses a missing image before starting QEMU", async () => {
    await rejectsWith(boot({}, { image: join(dir, "missing.img") }), "E_USAGE", /no disk image/);
    assert.deepEqual(entriesWith(dir, "strata-vm-"), []);
  });
});
