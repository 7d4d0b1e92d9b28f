/**
 * The one runner for external commands. Every tool strata uses goes through here, so a failure
 * always reports the command line, the exit code and the tail of its output, and a command
 * meant for the build's private mount namespace is entered into it in one place.
 */
import { execa } from "execa";
import { StrataError } from "../errors.js";
import type { Namespace } from "./namespace.js";

export interface RunOptions {
  /** Run inside this private mount (and PID) namespace. */
  ns?: Namespace;
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

export interface RunResult {
  exitCode: number;
  stdout: string;
  /** stdout and stderr interleaved, as a person would have seen them. */
  output: string;
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

export async function run(
  cmd: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const argv = options.ns ? options.ns.wrap([cmd, ...args]) : [cmd, ...args];
  const [file, ...rest] = argv as [string, ...string[]];
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
  if (result.failed && result.exitCode === undefined) {
    const missing = (result.cause as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
    throw new StrataError("E_COMMAND_FAILED", `could not start ${file}: ${result.shortMessage}`, {
      hint: missing ? "run `strata doctor` to see which host packages are missing" : undefined,
    });
  }
  const out: RunResult = {
    exitCode: result.exitCode ?? -1,
    stdout: typeof result.stdout === "string" ? result.stdout : "",
    output: typeof result.all === "string" ? result.all : "",
  };
  if (out.exitCode !== 0 && options.reject !== false) {
    const signal = result.signal ? ` (killed by ${result.signal})` : "";
    throw new StrataError(
      "E_COMMAND_FAILED",
      `command failed with exit code ${out.exitCode}${signal}: ${commandLine([cmd, ...args])}\n${tail(out.output)}`,
    );
  }
  return out;
}
