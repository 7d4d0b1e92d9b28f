/**
 * The one process module. Every external command strata starts goes through here:
 *
 * - `run()` waits for a command to end. A failure always reports the command line, the exit
 *   code and the tail of its output.
 * - `runSync()` is the same for the rare command that must finish synchronously (`stty sane`
 *   in an exit hook).
 * - `start()` is for long-lived processes (the namespace holder, QEMU). They run under
 *   `setpriv --pdeathsig KILL`, so a SIGKILLed strata takes them along, and they are registered
 *   for reaping (host/cleanups.ts). The handle keeps the tail of what they wrote to stderr.
 *
 * A command meant for the build's private mount namespace is entered into it here, in one
 * place (`ns`). Then a Runner starts the processes. The module-level current runner is the
 * system's, and tests swap in a FakeRunner (host/fake-runner.ts) with `withRunner()`. So build
 * code is unit-tested without root and without threading a runner through it.
 */
import { spawn, spawnSync, type StdioOptions } from "node:child_process";
import { constants } from "node:os";
import type { Readable, Writable } from "node:stream";
import { execa } from "execa";
import { StrataError } from "../errors.js";
import { trackForReaping } from "./cleanups.js";
import type { Namespace } from "./namespace.js";
import { which } from "./tools.js";

export interface RunOptions {
  /** Run inside this private mount (and PID, network) namespace. */
  ns?: Namespace;
  /** Inside `ns`, but with the host's network instead of the namespace's. */
  hostNetwork?: boolean;
  input?: string;
  env?: Record<string, string>;
  /** Replace the environment instead of extending it. */
  cleanEnv?: boolean;
  cwd?: string;
  /** Each line of output as it comes (stdout and stderr interleaved). */
  onLine?: (line: string) => void;
  /** Connect the terminal (for `strata shell`). */
  interactive?: boolean;
  /** Allow a non-zero exit; the caller inspects `exitCode`. */
  reject?: boolean;
}

export type RunSyncOptions = Omit<RunOptions, "onLine">;

export interface RunResult {
  exitCode: number;
  stdout: string;
  /** stdout and stderr interleaved, as a person would have seen them. */
  output: string;
}

/** What a Runner reports: the result and, if the command was killed, the signal. */
export interface RunnerResult extends RunResult {
  signal?: string;
}

export interface StartOptions {
  /** Run inside this private mount (and PID) namespace. */
  ns?: Namespace;
  /** Default: stdin and stdout ignored, stderr a pipe (kept for the tail). */
  stdio?: StdioOptions;
  env?: Record<string, string>;
  cwd?: string;
  /** Removed if strata dies before the owner has cleaned up (release()). */
  paths?: string[];
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A started, long-lived process. */
export interface ProcessHandle {
  readonly pid: number;
  /** The command as asked (binary first), for messages. */
  readonly argv: readonly string[];
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /** Resolves when the process has exited. */
  readonly exited: Promise<ExitStatus>;
  hasExited(): boolean;
  /** What it wrote to stderr (the last 64 KiB; only when stderr is a pipe). */
  stderrText(): string;
  /** The last `lines` lines of stderrText(). */
  stderrTail(lines?: number): string;
  /** SIGTERM, then SIGKILL after `graceMs` (default 5000); resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL now; resolves once it is gone. */
  kill(): Promise<void>;
  /** Unregisters from the reaper (the owner has cleaned up). */
  release(): void;
}

/** A command as asked (`command`) and as it is started (`argv`: entered into the namespace). */
export interface Invocation {
  command: readonly string[];
  argv: readonly string[];
}

/** Starts processes; the system's, or a fake in unit tests. */
export interface Runner {
  run(call: Invocation, options: RunOptions): Promise<RunnerResult>;
  runSync(call: Invocation, options: RunSyncOptions): RunnerResult;
  start(call: Invocation, options: StartOptions): ProcessHandle;
}

export const TAIL_LINES = 25;

export function tail(text: string, lines = TAIL_LINES): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

export function commandLine(argv: readonly string[]): string {
  return argv
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`))
    .join(" ");
}

// --- the seam -------------------------------------------------------------------------------

let current: Runner;

/** Makes `runner` the current runner; returns the previous one. */
export function setRunner(runner: Runner): Runner {
  const previous = current;
  current = runner;
  return previous;
}

/** Runs `fn` with `runner` as the current runner, and restores the previous one afterwards. */
export async function withRunner<T>(runner: Runner, fn: () => T | Promise<T>): Promise<T> {
  const previous = setRunner(runner);
  try {
    return await fn();
  } finally {
    setRunner(previous);
  }
}

function invocation(
  command: readonly string[],
  ns: Namespace | undefined,
  hostNetwork?: boolean,
): Invocation {
  return { command, argv: ns ? ns.wrap(command, { hostNetwork }) : [...command] };
}

function settle(call: Invocation, result: RunnerResult, reject: boolean | undefined): RunResult {
  if (result.exitCode !== 0 && reject !== false) {
    const signal = result.signal ? ` (killed by ${result.signal})` : "";
    throw new StrataError(
      "E_COMMAND_FAILED",
      `command failed with exit code ${result.exitCode}${signal}: ${commandLine(call.command)}\n${tail(result.output)}`,
    );
  }
  return { exitCode: result.exitCode, stdout: result.stdout, output: result.output };
}

export async function run(
  cmd: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const call = invocation([cmd, ...args], options.ns, options.hostNetwork);
  return settle(call, await current.run(call, options), options.reject);
}

/** run(), synchronously; stdout and stderr are not interleaved (output is one, then the other). */
export function runSync(
  cmd: string,
  args: readonly string[],
  options: RunSyncOptions = {},
): RunResult {
  const call = invocation([cmd, ...args], options.ns, options.hostNetwork);
  return settle(call, current.runSync(call, options), options.reject);
}

/** Starts a long-lived process (binary first); see ProcessHandle. */
export function start(argv: readonly string[], options: StartOptions = {}): ProcessHandle {
  return current.start(invocation(argv, options.ns), options);
}

// --- the system's runner --------------------------------------------------------------------

function cannotStart(file: string, message: string, missing: boolean): StrataError {
  return new StrataError("E_COMMAND_FAILED", `could not start ${file}: ${message}`, {
    hint: missing
      ? "run `strata doctor` to see which host packages are missing"
      : "see the message; the host may be out of processes or memory",
  });
}

/** The shell's exit code for a command killed by `signal` (128 + its number). */
function signalExitCode(signal: string | undefined): number {
  const n = signal ? constants.signals[signal as NodeJS.Signals] : undefined;
  return n === undefined ? -1 : 128 + n;
}

async function systemRun(call: Invocation, options: RunOptions): Promise<RunnerResult> {
  const [file, ...rest] = call.argv as [string, ...string[]];
  const child = execa(file, rest, {
    input: options.interactive ? undefined : (options.input ?? ""),
    env: options.env,
    extendEnv: !options.cleanEnv,
    cwd: options.cwd,
    reject: false,
    all: !options.interactive,
    stdio: options.interactive ? "inherit" : undefined,
    stripFinalNewline: false,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (options.onLine && child.all) {
    let pending = "";
    child.all.on("data", (chunk: Buffer) => {
      pending += chunk.toString("utf8");
      const lines = pending.split(/\r?\n|\r/);
      pending = lines.pop() ?? "";
      for (const line of lines) if (line.trim() !== "") options.onLine?.(line);
    });
  }
  const result = await child;
  // No exit code and no signal: it never ran. (A killed command has a signal instead.)
  if (result.failed && result.exitCode === undefined && result.signal === undefined) {
    const missing = (result.cause as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
    throw cannotStart(file, result.shortMessage ?? "failed", missing);
  }
  return {
    exitCode: result.exitCode ?? signalExitCode(result.signal),
    stdout: typeof result.stdout === "string" ? result.stdout : "",
    output: typeof result.all === "string" ? result.all : "",
    signal: result.signal,
  };
}

function systemRunSync(call: Invocation, options: RunSyncOptions): RunnerResult {
  const [file, ...rest] = call.argv as [string, ...string[]];
  const r = spawnSync(file, rest, {
    input: options.interactive ? undefined : (options.input ?? ""),
    env: options.cleanEnv ? options.env : { ...process.env, ...options.env },
    cwd: options.cwd,
    stdio: options.interactive ? "inherit" : "pipe",
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error && r.status === null && r.signal === null) {
    throw cannotStart(file, r.error.message, (r.error as NodeJS.ErrnoException).code === "ENOENT");
  }
  const stdout = r.stdout ?? "";
  return {
    exitCode: r.status ?? signalExitCode(r.signal ?? undefined),
    stdout,
    output: stdout + (r.stderr ?? ""),
    signal: r.signal ?? undefined,
  };
}

const STDERR_KEPT = 64 * 1024;

function systemStart(call: Invocation, options: StartOptions): ProcessHandle {
  // The one place that ties a process's life to strata's (PR_SET_PDEATHSIG).
  const argv = which("setpriv")
    ? ["setpriv", "--pdeathsig", "KILL", "--", ...call.argv]
    : call.argv;
  const child = spawn(argv[0] as string, argv.slice(1), {
    stdio: options.stdio ?? ["ignore", "ignore", "pipe"],
    env: options.env ? { ...process.env, ...options.env } : undefined,
    cwd: options.cwd,
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-STDERR_KEPT);
  });
  let done = false;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once("exit", (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
    child.once("error", (e) => {
      done = true;
      stderr += `\n${e.message}`;
      resolve({ code: null, signal: null });
    });
  });
  const pid = child.pid;
  if (pid === undefined) {
    throw cannotStart(call.command[0] ?? "", "no process", !which(argv[0] as string));
  }
  const reapable = { pid: pid as number | undefined, paths: options.paths ?? [] };
  // Once the process is gone its PID may be reused: the reaper must not kill that.
  void exited.then(() => (reapable.pid = undefined));
  const release = trackForReaping(reapable);
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {}
  };
  return {
    pid,
    argv: call.command,
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    exited,
    hasExited: () => done,
    stderrText: () => stderr,
    stderrTail: (lines = TAIL_LINES) => tail(stderr, lines),
    async stop(graceMs = 5000) {
      if (done) return;
      signal("SIGTERM");
      const timer = setTimeout(() => signal("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (done) return;
      signal("SIGKILL");
      await exited;
    },
    release,
  };
}

/** The runner that starts real processes. */
export const systemRunner: Runner = {
  run: systemRun,
  runSync: systemRunSync,
  start: systemStart,
};

current = systemRunner;
