/**
 * A private mount and PID namespace that lives exactly as long as strata does.
 *
 * All of a build's mounts (squashfs layers, overlayfs, mmdebstrap's /proc and /dev) are made in
 * here, never in the host's namespace. A holder process keeps the namespace alive; it gets
 * SIGKILL the moment strata dies (PR_SET_PDEATHSIG via setpriv), and as it is PID 1 of the
 * namespace every command entered into it dies with it. The namespace has its own /proc, so
 * tools that look themselves up there (bubblewrap does) find the right processes. So even a strata killed with SIGKILL
 * leaves no mount and no loop device behind (loop devices are set to auto-clear on unmount).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { StrataError } from "../errors.js";

export class Namespace {
  private constructor(
    private readonly holder: ChildProcess,
    /** PID (in the host's PID namespace) of the namespace's init. */
    readonly pid: number,
  ) {}

  static async create(): Promise<Namespace> {
    const holder = spawn(
      "setpriv",
      [
        "--pdeathsig",
        "KILL",
        "--",
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--pid",
        "--fork",
        "--kill-child=SIGKILL",
        "--mount-proc",
        "--",
        "sleep",
        "infinity",
      ],
      { stdio: "ignore" },
    );
    const unsharePid = holder.pid;
    if (unsharePid === undefined) {
      throw new StrataError("E_COMMAND_FAILED", "could not start the build namespace", {
        hint: "setpriv and unshare come with util-linux",
      });
    }
    // unshare forks; the child, PID 1 of the new namespace, is the process to enter.
    for (let i = 0; i < 200; i++) {
      const child = childOf(unsharePid);
      if (child !== undefined && readComm(child) === "sleep") return new Namespace(holder, child);
      if (holder.exitCode !== null) break;
      await sleep(10);
    }
    holder.kill("SIGKILL");
    throw new StrataError("E_COMMAND_FAILED", "the build namespace did not start", {
      hint: "strata needs root and a kernel with mount and PID namespaces",
    });
  }

  /** The argv that runs `argv` inside this namespace. */
  wrap(argv: readonly string[]): string[] {
    return ["nsenter", `--target=${this.pid}`, "--mount", "--pid", "--", ...argv];
  }

  /** A host path that shows `path` as seen inside the namespace (mounts included). */
  view(path: string): string {
    return `/proc/${this.pid}/root${path}`;
  }

  /** Ends the namespace: its mounts go away with it. */
  async close(): Promise<void> {
    if (this.holder.exitCode !== null || this.holder.signalCode !== null) return;
    const exited = new Promise((resolve) => this.holder.once("exit", resolve));
    this.holder.kill("SIGKILL");
    await exited;
  }
}

function childOf(pid: number): number | undefined {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    const first = children.split(/\s+/)[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}

function readComm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}
