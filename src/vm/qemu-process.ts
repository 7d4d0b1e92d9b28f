/**
 * Starting one QEMU process, and the error for one that ended too early. QEMU runs for minutes
 * and talks over its stdio, so it is a long-lived process of host/run.ts's `start()`: it dies
 * with strata and is reaped if strata exits first. An early exit is reported with the command
 * line, the exit code and the tail of what QEMU wrote to stderr.
 */
import type { StdioOptions } from "node:child_process";
import { StrataError } from "../errors.js";
import { commandLine, type ExitStatus, type ProcessHandle, start } from "../host/run.js";
import { requireTools, type ToolName } from "../host/tools.js";
import type { VmArch } from "./argv.js";

const QEMU_TOOL: Record<VmArch, ToolName> = { amd64: "qemuX86", arm64: "qemuSystemArm" };

/** E_TOOL_MISSING naming the package when QEMU for `arch` is not installed. */
export function requireQemu(arch: VmArch): void {
  requireTools([QEMU_TOOL[arch]]);
}

export type QemuProcess = ProcessHandle;

/** Starts `argv` (binary first). `paths` are removed by the reaper if strata dies first. */
export function startQemu(
  argv: readonly string[],
  stdio: StdioOptions,
  paths: string[] = [],
): QemuProcess {
  return start(argv, { stdio, paths });
}

/** The error for a QEMU that ended when it should not have. */
export function exitedError(qemu: QemuProcess, result: ExitStatus, consoleTail = ""): StrataError {
  const how =
    result.signal !== null ? `was killed by ${result.signal}` : `exited with code ${result.code}`;
  const err = qemu.stderrTail(15);
  return new StrataError(
    "E_VM",
    `QEMU ${how}: ${commandLine(qemu.argv)}${err ? `\nstderr:\n${err}` : ""}${consoleTail ? `\nlast lines of the console:\n${consoleTail}` : ""}`,
    { hint: "the guest powered off or QEMU refused its arguments; see the output above" },
  );
}
