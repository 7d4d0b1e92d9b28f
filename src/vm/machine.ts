/**
 * A booted guest that a program drives through its serial console: the library behind
 * `strata test` and the boot tests.
 *
 *   const m = await bootMachine({ image: "out/kiosk.img", arch: "amd64", boot: "uefi" });
 *   try {
 *     await m.login("root", "");
 *     const { status, output } = await m.exec("cat /etc/os-release");
 *     await m.reboot(); // waits for the next login prompt
 *     await m.login("root", "");
 *   } finally {
 *     await m.close();
 *   }
 *
 * bootMachine copies the image (unless `copy: false`) and the firmware's vars into a temporary
 * directory, picks KVM or TCG (accel.ts), and starts QEMU with the serial console on pipes.
 * close() always kills QEMU (by PID) and removes the temporary files; the reaper
 * (host/cleanups.ts) does the same if the process exits or is interrupted first.
 */
import { randomBytes } from "node:crypto";
import { createWriteStream, openSync, type WriteStream } from "node:fs";
import { StrataError } from "../errors.js";
import type { AccelChoice } from "./accel.js";
import { ConsoleBuffer, formatSeconds, KERNEL_OOPS, lineStart } from "./console.js";
import { type Launch, type LaunchOptions, prepareLaunch } from "./launch.js";
import { monitorCommand } from "./monitor.js";
import { exitedError, type QemuProcess, startQemu } from "./qemu-process.js";
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
} from "./shell-protocol.js";

export interface BootOptions extends LaunchOptions {
  /** Also write everything the console prints (unfiltered) to this file. */
  consoleLog?: string;
  /** Called with each chunk the console prints (unfiltered). */
  onConsole?: (chunk: string) => void;
  /**
   * A boot whose console stays silent this long before its kernel runs is reset once through
   * QEMU's monitor (default 180 s; 0: never). See Machine's stall guard.
   */
  stallResetMs?: number;
}

export interface ExecResult {
  status: number;
  /** stdout and stderr as the console showed them, without carriage returns. */
  output: string;
}

const DEFAULT_BOOT_TIMEOUT_MS = 600_000;
const DEFAULT_STALL_RESET_MS = 180_000;
/** The kernel asked the firmware to restart the machine: a new boot begins. */
const RESTART = /reboot: Restarting system/g;
/** A kernel's first message (the previous kernel's last ones carry its uptime). */
const KERNEL_START = /\[\s*0\.0{6}\]/;
/** A kernel message from its second second on: the kernel runs, timers and all. */
const KERNEL_RUNNING = /\[\s*[1-9]\d*\.\d{6}\]/;
const DEFAULT_EXEC_TIMEOUT_MS = 120_000;
/** How long after an oops the console is still read, so the error quotes its trace. */
const OOPS_TRACE_MS = 2000;
/** Waits inside the shell protocol (prompts after login, resynchronising after an interrupt). */
const SHELL_TIMEOUT_MS = 60_000;

export class Machine {
  private readonly console = new ConsoleBuffer();
  private readonly nonce = randomBytes(4).toString("hex");
  private counter = 0;
  private loginPromptAt: number | undefined;
  /** reboot() saw the login prompt and left it for login(). */
  private promptWaiting = false;
  private promptScanned = 0;
  private oopsScanned = 0;
  private oopsSeen = false;
  private credentials: { user: string; password: string } | undefined;
  private broken: string | undefined;
  private closed = false;
  private poweringOff = false;

  private readonly qemu: QemuProcess;
  /** The accelerator QEMU runs with, and why. */
  readonly accel: AccelChoice;
  /** The disk the guest boots (a copy, unless `copy: false`); none for a netboot. */
  readonly disk: string | undefined;
  private readonly launch: Launch;
  private readonly log: WriteStream | undefined;
  private readonly onConsole: ((chunk: string) => void) | undefined;
  private readonly startedAt = Date.now();
  private readonly stallResetMs: number;
  /** The stall guard is armed from a (re)start until the kernel runs or getty prompts. */
  private bootStarted: number | undefined = 0;
  private bootScanned = 0;
  private kernelStarted: number | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private resetsThisBoot = 0;
  private resetCount = 0;

  /** Use bootMachine(). */
  constructor(parts: {
    qemu: QemuProcess;
    launch: Launch;
    log?: WriteStream;
    onConsole?: (chunk: string) => void;
    stallResetMs?: number;
  }) {
    const { qemu } = parts;
    this.stallResetMs = parts.launch.monitor ? (parts.stallResetMs ?? DEFAULT_STALL_RESET_MS) : 0;
    this.qemu = qemu;
    this.launch = parts.launch;
    this.accel = parts.launch.accel;
    this.disk = parts.launch.disk;
    this.log = parts.log;
    this.onConsole = parts.onConsole;
    qemu.stdout?.on("data", (chunk: Buffer) => this.received(chunk.toString("utf8")));
    // Typing at a QEMU that just exited is reported by the exit, not as an EPIPE crash.
    qemu.stdin?.on("error", () => {});
    this.armStallTimer();
    void qemu.exited.then((result) => {
      this.disarmStallGuard();
      if (this.closed || this.poweringOff) {
        this.console.end(new StrataError("E_VM", "the machine was closed"));
      } else {
        this.console.end(exitedError(qemu, result, this.console.tail()));
      }
    });
  }

  /** QEMU's PID. */
  get pid(): number {
    return this.qemu.pid;
  }

  /** The QEMU command line (binary first). */
  get argv(): readonly string[] {
    return this.qemu.argv;
  }

  /** Everything the console printed, without carriage returns and escape sequences. */
  get output(): string {
    return this.console.output;
  }

  /** Seconds from QEMU's start to the first login prompt (undefined before it appeared). */
  get secondsToLogin(): number | undefined {
    return this.loginPromptAt === undefined
      ? undefined
      : (this.loginPromptAt - this.startedAt) / 1000;
  }

  /** Whether QEMU is still running. */
  get running(): boolean {
    return !this.qemu.hasExited();
  }

  /** How many times the stall guard reset the machine. */
  get resets(): number {
    return this.resetCount;
  }

  /** The last `lines` lines of the console. */
  tail(lines?: number): string {
    return this.console.tail(lines);
  }

  private received(chunk: string): void {
    this.log?.write(chunk);
    this.onConsole?.(chunk);
    this.console.append(chunk);
    if (this.loginPromptAt === undefined) {
      const text = this.console.output;
      if (LOGIN_PROMPT.test(text.slice(lineStart(text, this.promptScanned - 256)))) {
        this.loginPromptAt = Date.now();
      }
      this.promptScanned = text.length;
    }
    this.watchForOops();
    this.watchBootProgress();
  }

  /**
   * The stall guard. Under TCG a boot can hang, rarely and at random, between the kernel's
   * restart and its first timed messages (seen once in many CI runs: the firmware had loaded
   * the kernel and nothing more came for ten minutes). No code of strata's or the recipe's runs
   * yet in that window (the initramfs comes later), so the guard does what a hardware watchdog
   * would: once the console has been silent for stallResetMs in it, the machine is reset
   * (QEMU's system_reset), once per boot, and a line on the console says so. A boot that
   * stalls again fails its wait.
   */
  private watchBootProgress(): void {
    if (this.stallResetMs <= 0) return;
    const text = this.console.output;
    const from = lineStart(text, this.bootScanned - 256);
    this.bootScanned = text.length;
    let restartAt = -1;
    for (const m of text.slice(from).matchAll(RESTART)) restartAt = from + m.index;
    if (restartAt >= 0) {
      this.bootStarted = restartAt;
      this.kernelStarted = undefined;
      this.resetsThisBoot = 0;
    }
    if (this.bootStarted === undefined) return;
    const since = text.slice(Math.max(this.bootStarted, from));
    if (this.kernelStarted === undefined) {
      const k = KERNEL_START.exec(since);
      if (k) this.kernelStarted = Math.max(this.bootStarted, from) + k.index;
    }
    const kernel =
      this.kernelStarted === undefined ? "" : text.slice(Math.max(this.kernelStarted, from));
    if (KERNEL_RUNNING.test(kernel) || LOGIN_PROMPT.test(since)) {
      this.bootStarted = undefined;
      this.disarmStallGuard();
    } else {
      this.armStallTimer();
    }
  }

  private armStallTimer(): void {
    if (this.stallResetMs <= 0 || this.bootStarted === undefined) return;
    clearTimeout(this.stallTimer);
    this.stallTimer = setTimeout(() => void this.stalled(), this.stallResetMs);
    this.stallTimer.unref();
  }

  private disarmStallGuard(): void {
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }

  private async stalled(): Promise<void> {
    this.stallTimer = undefined;
    if (this.closed || this.qemu.hasExited() || this.resetsThisBoot >= 1) return;
    this.resetsThisBoot++;
    this.resetCount++;
    const note = `\n[strata: the boot printed nothing for ${formatSeconds(this.stallResetMs)} before its kernel ran; resetting the machine]\n`;
    this.log?.write(note);
    this.console.append(note);
    this.bootScanned = this.console.output.length;
    this.bootStarted = this.bootScanned;
    this.kernelStarted = undefined;
    try {
      await monitorCommand(this.launch.monitor as string, "system_reset");
    } catch {
      // No monitor to reach: the waits time out as they would have.
      return;
    }
    this.armStallTimer();
  }

  /**
   * A guest kernel that oopsed will not print what a wait expects (under TCG the wait would
   * last ten minutes): all waits fail with E_VM_GUEST_CRASH, a moment later so that the error
   * quotes the trace. The machine stays up for close().
   */
  private watchForOops(): void {
    if (this.oopsSeen) return;
    const text = this.console.output;
    const m = KERNEL_OOPS.exec(text.slice(lineStart(text, this.oopsScanned)));
    this.oopsScanned = text.length;
    if (!m) return;
    this.oopsSeen = true;
    setTimeout(() => {
      const from = this.console.output.lastIndexOf(m[0]);
      const trace = this.console.output.slice(from).split("\n").slice(0, 30).join("\n");
      this.console.end(
        new StrataError("E_VM_GUEST_CRASH", `the guest's kernel crashed:\n${trace}`, {
          hint:
            this.accel.accel === "tcg"
              ? "under TCG, more than one vCPU can crash a guest at random (stale code after the kernel patches itself); boot with one (the default) or with KVM"
              : "read the trace: a driver or the kernel command line may be at fault",
        }),
      );
    }, OOPS_TRACE_MS).unref();
  }

  /** Types `text` on the serial console as it is (add "\n" for Enter). */
  send(text: string): void {
    if (this.qemu.hasExited()) {
      throw new StrataError("E_VM", "QEMU is not running", {
        hint: "boot the machine again",
      });
    }
    this.qemu.stdin?.write(text);
  }

  /**
   * Waits for `pattern` in what the console prints after the previous wait's match; a string
   * matches literally. On timeout: E_VM_TIMEOUT with the console's last 30 lines.
   */
  waitFor(pattern: RegExp | string, timeoutMs: number): Promise<RegExpExecArray> {
    return this.console.waitFor(pattern, timeoutMs);
  }

  /**
   * Logs in at the serial console: waits for getty's prompt (up to `timeoutMs`, default 10
   * minutes: a TCG boot takes a minute or more), types the user name, the password if asked,
   * then sets up the shell for exec() (see shell-protocol.ts).
   */
  async login(user = "root", password = "", options: { timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS);
    const left = () => Math.max(1, deadline - Date.now());
    // After reboot() the prompt is already there; otherwise wait for it.
    if (!this.promptWaiting) await this.console.waitFor(LOGIN_PROMPT, left(), "the login prompt");
    this.promptWaiting = false;
    this.console.skip();
    this.send(`${user}\n`);
    let answer = await this.console.waitFor(
      AFTER_USER,
      Math.min(left(), SHELL_TIMEOUT_MS),
      "a password or shell prompt",
    );
    if (answer[0] === "Password: ") {
      this.send(`${password}\n`);
      answer = await this.shellPromptOrTimeout(Math.min(left(), SHELL_TIMEOUT_MS));
    }
    if (/Login incorrect|Login timed out/.test(answer[0])) {
      throw new StrataError(
        "E_VM",
        `login as ${user} failed (${answer[0]}); the console's last lines:\n${this.console.tail()}`,
        {
          hint: "give the user a password in the recipe (users: password:, a crypt hash) and the same clear text in tests.login.password",
        },
      );
    }
    await this.setupShell(left());
    this.credentials = { user, password };
  }

  /** A prompt may be followed by kernel messages; after a while, go on as if it came. */
  private async shellPromptOrTimeout(timeoutMs: number): Promise<RegExpExecArray> {
    try {
      return await this.console.waitFor(AFTER_PASSWORD, timeoutMs, "a shell prompt");
    } catch (e) {
      if ((e as StrataError).code !== "E_VM_TIMEOUT") throw e;
      return Object.assign(["(no prompt seen)"], { index: 0, input: "" }) as RegExpExecArray;
    }
  }

  private async setupShell(timeoutMs: number): Promise<void> {
    this.send(`${setupLine(this.nonce)}\n`);
    await this.console.waitFor(readyPattern(this.nonce), timeoutMs, "the shell after login");
  }

  /**
   * Runs `command` with `sh -c` in the guest (stdin /dev/null, stderr into the output) and
   * returns its exit status and output. On timeout the command is interrupted (Ctrl-C) and an
   * E_VM_TIMEOUT is thrown; the machine stays usable if the shell answers again. Console log
   * lines (kernel, journald) printed meanwhile are dropped unless `raw` is set.
   */
  async exec(
    command: string,
    options: { timeoutMs?: number; raw?: boolean } = {},
  ): Promise<ExecResult> {
    if (this.broken) {
      throw new StrataError("E_VM", `the guest's shell does not answer any more: ${this.broken}`, {
        hint: "boot the machine again",
      });
    }
    if (!this.credentials) {
      throw new StrataError("E_VM", "exec() before login()", {
        hint: "call login() first",
      });
    }
    const id = `${this.nonce}-${++this.counter}`;
    const timeoutMs = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    this.console.skip();
    for (const line of execLines(id, command)) this.send(`${line}\n`);
    try {
      const m = await this.console.waitFor(
        execPattern(id),
        timeoutMs,
        `the end of \`${command.length > 60 ? `${command.slice(0, 57)}...` : command}\``,
      );
      const output = m[1] ?? "";
      return { status: Number(m[2]), output: options.raw ? output : dropConsoleLog(output) };
    } catch (e) {
      if ((e as StrataError).code === "E_VM_TIMEOUT" && this.running) await this.interrupt(id);
      throw e;
    }
  }

  /** Ctrl-C, then a marker: the shell is usable again once the marker comes back. */
  private async interrupt(id: string): Promise<void> {
    this.send("\x03");
    this.send(`${syncLine(id)}\n`);
    try {
      await this.console.waitFor(syncPattern(id), SHELL_TIMEOUT_MS, "the shell after Ctrl-C");
    } catch (e) {
      this.broken = `it did not come back after Ctrl-C: ${(e as Error).message.split("\n")[0]}`;
    }
  }

  /**
   * Reboots the guest (`reboot` at the shell) and waits up to `timeoutMs` (default 10 minutes)
   * for the next login prompt; call login() again to go on. Returns the seconds from `reboot`
   * to that prompt.
   */
  async reboot(options: { timeoutMs?: number } = {}): Promise<number> {
    const started = Date.now();
    this.console.skip();
    this.send("reboot\n");
    this.credentials = undefined;
    this.broken = undefined;
    await this.console.waitFor(
      LOGIN_PROMPT,
      options.timeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS,
      "the login prompt after reboot",
    );
    this.promptWaiting = true;
    return (Date.now() - started) / 1000;
  }

  /**
   * Powers the guest off (`poweroff` at the shell) and waits up to `timeoutMs` (default 2
   * minutes) for QEMU to exit; kills it after that. Returns QEMU's exit code, or null when it
   * had to be killed.
   */
  async poweroff(options: { timeoutMs?: number } = {}): Promise<number | null> {
    this.poweringOff = true;
    if (this.running) this.send("poweroff\n");
    return this.poweredOff(options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS);
  }

  /**
   * Waits up to `timeoutMs` (default 10 minutes) for a guest that powers itself off (an
   * unattended installer); kills QEMU after that. QEMU's exit code, or null when killed.
   */
  async waitForPoweroff(options: { timeoutMs?: number } = {}): Promise<number | null> {
    this.poweringOff = true;
    return this.poweredOff(options.timeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS);
  }

  private async poweredOff(timeoutMs: number): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const result = await Promise.race([this.qemu.exited, timedOut]);
    clearTimeout(timer);
    if (result === "timeout") {
      await this.qemu.kill();
      return null;
    }
    return result.code;
  }

  /** SIGKILLs QEMU now (close() still removes the temporary files). */
  async kill(): Promise<void> {
    this.closed = true;
    await this.qemu.kill();
  }

  /** Always safe to call, also twice: kills QEMU if it runs and removes temporary files. */
  async close(): Promise<void> {
    this.closed = true;
    await this.qemu.stop(3000);
    await new Promise<void>((resolve) => (this.log ? this.log.end(resolve) : resolve()));
    this.launch.dispose();
    this.qemu.release();
  }
}

/** Copies the image and firmware vars, picks the accelerator, starts QEMU. */
export async function bootMachine(options: BootOptions): Promise<Machine> {
  const launch = await prepareLaunch(options, { kind: "pipe" });
  let qemu: QemuProcess | undefined;
  let log: WriteStream | undefined;
  try {
    if (options.consoleLog) {
      // Opened here, so a path that cannot be written is an error now, not a crash later.
      log = createWriteStream("", { fd: openSync(options.consoleLog, "w") });
      log.on("error", () => {});
    }
    qemu = startQemu(launch.argv, ["pipe", "pipe", "pipe"]);
    return new Machine({
      qemu,
      launch,
      log,
      onConsole: options.onConsole,
      stallResetMs: options.stallResetMs,
    });
  } catch (e) {
    await qemu?.kill();
    qemu?.release();
    log?.end();
    launch.dispose();
    throw e;
  }
}
