/**
 * Starting and stopping one QEMU process. QEMU runs for minutes and talks over its stdio, so it
 * is spawned directly (host/run.ts waits for a command to end). It runs under `setpriv
 * --pdeathsig KILL` when util-linux has it, so it dies with strata; it is registered with the
 * reaper; and an early exit is reported with the command line, the exit code and the tail of
 * what QEMU wrote to stderr.
 */
import { type ChildProcess, spawn, type StdioOptions } from "node:child_process";
import { StrataError } from "../errors.js";
import { commandLine, tail } from "../host/run.js";
import { requireTools, type ToolName, which } from "../host/tools.js";
import type { VmArch } from "./argv.js";
import { type Reapable, track } from "./reaper.js";

const QEMU_TOOL: Record<VmArch, ToolName> = { amd64: "qemuX86", arm64: "qemuSystemArm" };

/** E_TOOL_MISSING naming the package when QEMU for `arch` is not installed. */
export function requireQemu(arch: VmArch): void {
  requireTools([QEMU_TOOL[arch]]);
}

export interface QemuProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly argv: readonly string[];
  /** What QEMU wrote to stderr (only when stderr is a pipe). */
  stderr(): string;
  /** Resolves when QEMU has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Whether QEMU has exited. */
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once QEMU is gone. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL now; resolves once QEMU is gone. */
  kill(): Promise<void>;
  /** Unregisters from the reaper (the owner has cleaned up). */
  release(): void;
}

/** Starts `argv` (binary first). `paths` are removed by the reaper if strata dies first. */
export function startQemu(
  argv: readonly string[],
  stdio: StdioOptions,
  paths: string[] = [],
): QemuProcess {
  const [bin, ...args] = argv as [string, ...string[]];
  const wrapped = which("setpriv")
    ? ["setpriv", "--pdeathsig", "KILL", "--", bin, ...args]
    : [bin, ...args];
  const child = spawn(wrapped[0] as string, wrapped.slice(1), { stdio });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-64 * 1024);
  });
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
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
  if (child.pid === undefined) {
    throw new StrataError("E_VM", `could not start ${bin}`, {
      hint: "run `strata doctor` to see which host packages are missing",
    });
  }
  const reapable: Reapable = { pid: child.pid, paths };
  // Once QEMU is gone its PID may be reused: the reaper must not kill that.
  void exited.then(() => (reapable.pid = undefined));
  const untrack = track(reapable);
  const pid = child.pid;
  return {
    child,
    pid,
    argv,
    stderr: () => stderr,
    exited,
    hasExited: () => done,
    async stop(graceMs = 5000) {
      if (done) return;
      try {
        process.kill(pid, "SIGTERM");
      } catch {}
      const timer = setTimeout(() => {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      }, graceMs);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (done) return;
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
      await exited;
    },
    release: untrack,
  };
}

/** The error for a QEMU that ended when it should not have. */
export function exitedError(
  qemu: QemuProcess,
  result: { code: number | null; signal: NodeJS.Signals | null },
  consoleTail = "",
): StrataError {
  const how =
    result.signal !== null ? `was killed by ${result.signal}` : `exited with code ${result.code}`;
  const err = tail(qemu.stderr(), 15);
  return new StrataError(
    "E_VM",
    `QEMU ${how}: ${commandLine(qemu.argv)}${err ? `\nstderr:\n${err}` : ""}${consoleTail ? `\nlast lines of the console:\n${consoleTail}` : ""}`,
    { hint: "the guest powered off or QEMU refused its arguments; see the output above" },
  );
}
