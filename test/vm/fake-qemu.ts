/**
 * A FAKE qemu-system-* for unit tests of the console protocol (never used outside test/): it
 * prints a boot, a getty login prompt (with kernel messages and escape sequences around it),
 * asks for a password when told to, then acts as the guest's shell by feeding typed lines to
 * a real bash with harmless stand-ins for stty, dmesg, reboot and poweroff. Typed lines are
 * echoed until `stty -echo` is typed, like a tty; Ctrl-C interrupts the running command.
 *
 * Environment: FAKE_QEMU_ARGV (file to write { argv, sizes of the -drive files } to), FAKE_QEMU_MODE (login |
 * password | silent | oops | exit | exit:<code>), FAKE_QEMU_PASSWORD (for mode password),
 * FAKE_QEMU_ECHO=always (keep echoing typed lines, as a shell with its own line editor does),
 * FAKE_QEMU_STALL=once|always (a reboot prints the kernel's restart message and then nothing,
 * the first time or every time, until `system_reset` comes on the `-monitor unix:` socket).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";

const mode = process.env.FAKE_QEMU_MODE ?? "login";
if (process.env.FAKE_QEMU_ARGV) {
  // The command line, and the size of every file given to -drive (as QEMU would open them).
  const argv = process.argv.slice(2);
  const sizes: Record<string, number> = {};
  for (const [i, a] of argv.entries()) {
    const file = argv[i - 1] === "-drive" ? /file=(.*)$/.exec(a)?.[1] : undefined;
    if (file) sizes[file] = statSync(file).size;
  }
  writeFileSync(process.env.FAKE_QEMU_ARGV, JSON.stringify({ argv, sizes }));
}

const out = (s: string) => process.stdout.write(s.replaceAll(/\r?\n/g, "\r\n"));

if (mode === "exit") {
  process.stderr.write("qemu-system-x86_64: -drive file=/nonexistent: Could not open\n");
  process.exit(1);
}
if (mode.startsWith("exit:")) {
  out("fake firmware\nfake guest powered off\n");
  process.exit(Number(mode.slice(5)));
}

type State = "boot" | "user" | "password" | "shell";
let state: State = "boot";
let echo = true;
let shell: ChildProcess | undefined;
let pending = "";
let stalledOnce = false;

function boot(): void {
  state = "boot";
  echo = true;
  out("SeaBIOS (version fake)\n\x1b[2J\x1b[01;01H[    0.000000] Linux version 6.1.0-fake\n");
  if (mode === "silent") return;
  if (mode === "oops") {
    out("[    2.712345] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI\n");
    out("[    2.712399] RIP: 0010:sched_clock_cpu+0x9/0x1b0\n");
    return;
  }
  setTimeout(() => {
    out("\nDebian GNU/Linux 13 fake ttyS0\n\nfake login: ");
    out("[    7.123456] random: crng init done\n");
    state = "user";
  }, 50);
}

function startShell(): void {
  shell = spawn("setpriv", ["--pdeathsig", "KILL", "--", "bash", "--norc", "--noprofile", "-s"], {
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
  });
  shell.stdout?.on("data", (b: Buffer) => out(b.toString("utf8")));
  shell.stderr?.on("data", (b: Buffer) => out(b.toString("utf8")));
  shell.stdin?.write(
    "trap : INT; stty() { :; }; dmesg() { :; }; reboot() { :; }; poweroff() { :; }\n",
  );
}

function stopShell(): void {
  if (shell?.pid) {
    try {
      process.kill(-shell.pid, "SIGKILL");
    } catch {}
  }
  shell = undefined;
}

function line(text: string): void {
  if (echo && state !== "password") out(`${text}\n`);
  if (state === "user") {
    if (mode === "password") {
      out("Password: ");
      state = "password";
    } else {
      loggedIn();
    }
    return;
  }
  if (state === "password") {
    if (text === (process.env.FAKE_QEMU_PASSWORD ?? "")) {
      out("\n");
      loggedIn();
    } else {
      out("\nLogin incorrect\nfake login: ");
      state = "user";
    }
    return;
  }
  if (state !== "shell") return;
  if (text.includes("stty -echo") && process.env.FAKE_QEMU_ECHO !== "always") echo = false;
  if (text === "reboot") {
    stopShell();
    out("[  OK  ] Reached target reboot.target - System Reboot.\nreboot: Restarting system\n");
    // The old kernel's last words carry its uptime; then the firmware, or a stall.
    out("[   60.642003] reboot: machine restart\n");
    const stall = process.env.FAKE_QEMU_STALL;
    if (stall === "always" || (stall === "once" && !stalledOnce)) {
      stalledOnce = true;
      state = "boot";
      return;
    }
    setTimeout(boot, 50);
    return;
  }
  if (text === "poweroff") {
    stopShell();
    out("reboot: Power down\n");
    process.exit(0);
  }
  shell?.stdin?.write(`${text}\n`);
}

function loggedIn(): void {
  out("Linux fake 6.1.0-fake #1 SMP x86_64\n\nroot@fake:~# ");
  state = "shell";
  startShell();
}

process.stdin.on("data", (b: Buffer) => {
  pending += b.toString("utf8");
  for (;;) {
    const ctrlC = pending.indexOf("\x03");
    const nl = pending.indexOf("\n");
    if (ctrlC !== -1 && (nl === -1 || ctrlC < nl)) {
      pending = pending.slice(0, ctrlC) + pending.slice(ctrlC + 1);
      out("^C\n");
      if (shell?.pid) process.kill(-shell.pid, "SIGINT");
      continue;
    }
    if (nl === -1) break;
    const text = pending.slice(0, nl);
    pending = pending.slice(nl + 1);
    line(text);
  }
});

process.on("SIGTERM", () => {
  stopShell();
  process.stderr.write("qemu-system-x86_64: terminating on signal 15\n");
  process.exit(0);
});

// QEMU's human monitor: a banner, a prompt, and `system_reset` boots again.
const monitorArg = process.argv.indexOf("-monitor");
const monitor = /^unix:(.*),server=on,wait=off$/.exec(process.argv[monitorArg + 1] ?? "");
if (monitorArg !== -1 && monitor?.[1]) {
  createServer((c) => {
    c.write("QEMU fake monitor - type 'help' for more information\r\n(qemu) ");
    let typed = "";
    c.on("data", (b: Buffer) => {
      typed += b.toString("utf8");
      if (!typed.includes("\n")) return;
      // With FAKE_QEMU_STALL=always the boot after the reset stalls too.
      if (typed.startsWith("system_reset") && process.env.FAKE_QEMU_STALL !== "always") {
        stopShell();
        boot();
      }
      typed = "";
      c.write("system_reset\r\n(qemu) ");
    });
    c.on("error", () => {});
  })
    .listen(monitor[1])
    .unref();
}

boot();
