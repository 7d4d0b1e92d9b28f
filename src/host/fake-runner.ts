/**
 * A Runner for unit tests: it starts nothing, records every call (the argv after namespace
 * wrapping, the command as asked, env, input) and answers from scripted rules, so code that
 * mounts, packs or bootstraps can be tested without root:
 *
 *   const fake = new FakeRunner().on("mount", { exitCode: 32, output: "mount: failed" });
 *   await withRunner(fake, () => mountStack(ns, modules, dir, "none"));
 *   assert.deepEqual(fake.commands(), ["mount -t squashfs -o loop,ro /a.sqfs /d/lower/01", ...]);
 *
 * A rule matches the command as asked (before namespace wrapping): a string is the command's
 * name, a RegExp is tested against its command line, a function gets its argv. The first rule
 * that matches answers; without one, a command exits 0 with no output. A started process runs
 * until it is stopped or killed, unless its rule gives an exit code.
 */
import { constants } from "node:os";
import { basename } from "node:path";
import {
  commandLine,
  type ExitStatus,
  type Invocation,
  type ProcessHandle,
  type Runner,
  type RunnerResult,
  type RunOptions,
  type StartOptions,
  tail,
  TAIL_LINES,
} from "./run.js";

export type FakeMatch = string | RegExp | ((command: readonly string[]) => boolean);

export interface FakeAnswer {
  exitCode?: number;
  stdout?: string;
  /** stdout and stderr interleaved (default: stdout). */
  output?: string;
  /** For start(): what the process writes to stderr. */
  stderr?: string;
  /** Killed by this signal (run), or, for start(), exits at once with exitCode. */
  signal?: NodeJS.Signals;
}

export interface FakeCall {
  kind: "run" | "runSync" | "start";
  /** As it would be started: entered into the namespace, if any. */
  argv: readonly string[];
  /** As asked, binary first. */
  command: readonly string[];
  env?: Record<string, string>;
  input?: string;
  cwd?: string;
}

/** Above any real PID (pid_max is at most 2^22), so a fake PID never names a process. */
let nextPid = 1_000_000_000;

export class FakeRunner implements Runner {
  readonly calls: FakeCall[] = [];
  private readonly rules: { match: FakeMatch; answer: FakeAnswer }[] = [];

  /** Adds a rule; rules are tried in the order they were added. */
  on(match: FakeMatch, answer: FakeAnswer): this {
    this.rules.push({ match, answer });
    return this;
  }

  /** The command lines asked for (before namespace wrapping), in order. */
  commands(kind?: FakeCall["kind"]): string[] {
    return this.calls.filter((c) => !kind || c.kind === kind).map((c) => commandLine(c.command));
  }

  private answer(kind: FakeCall["kind"], call: Invocation, options: RunOptions): FakeAnswer {
    this.calls.push({
      kind,
      argv: call.argv,
      command: call.command,
      env: options.env,
      input: options.input,
      cwd: options.cwd,
    });
    return this.rules.find((r) => matches(r.match, call.command))?.answer ?? {};
  }

  async run(call: Invocation, options: RunOptions): Promise<RunnerResult> {
    const result = toResult(this.answer("run", call, options));
    for (const line of result.output.split(/\r?\n/)) if (line.trim()) options.onLine?.(line);
    return result;
  }

  runSync(call: Invocation, options: RunOptions): RunnerResult {
    return toResult(this.answer("runSync", call, options));
  }

  start(call: Invocation, options: StartOptions): ProcessHandle {
    const answer = this.answer("start", call, { env: options.env, cwd: options.cwd });
    return fakeProcess(call.command, answer);
  }
}

function matches(match: FakeMatch, command: readonly string[]): boolean {
  if (typeof match === "string") return basename(command[0] ?? "") === match;
  if (match instanceof RegExp) return match.test(commandLine(command));
  return match(command);
}

function toResult(a: FakeAnswer): RunnerResult {
  const stdout = a.stdout ?? "";
  // Killed by a signal: the shell's code for it (128 + its number), unless told otherwise.
  const killed = a.signal ? 128 + (constants.signals[a.signal] ?? 0) : 0;
  return { exitCode: a.exitCode ?? killed, stdout, output: a.output ?? stdout, signal: a.signal };
}

function fakeProcess(argv: readonly string[], answer: FakeAnswer): ProcessHandle {
  let done = false;
  let finish: (status: ExitStatus) => void = () => {};
  const exited = new Promise<ExitStatus>((resolve) => {
    finish = (status) => {
      if (done) return;
      done = true;
      resolve(status);
    };
  });
  if (answer.exitCode !== undefined || answer.signal !== undefined) {
    queueMicrotask(() => finish({ code: answer.exitCode ?? null, signal: answer.signal ?? null }));
  }
  const stderr = answer.stderr ?? "";
  return {
    pid: nextPid++,
    argv,
    stdin: null,
    stdout: null,
    stderr: null,
    exited,
    hasExited: () => done,
    stderrText: () => stderr,
    stderrTail: (lines = TAIL_LINES) => tail(stderr, lines),
    async stop() {
      finish({ code: null, signal: "SIGTERM" });
      await exited;
    },
    async kill() {
      finish({ code: null, signal: "SIGKILL" });
      await exited;
    },
    release() {},
  };
}
