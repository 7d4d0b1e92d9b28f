/**
 * A private mount, PID and network namespace that lives exactly as long as strata does.
 *
 * All of a build's mounts (squashfs layers, overlayfs, mmdebstrap's /proc and /dev) are made in
 * here, never in the host's namespace. A holder process keeps the namespace alive; it gets
 * SIGKILL the moment strata dies (PR_SET_PDEATHSIG via setpriv), and as it is PID 1 of the
 * namespace every command entered into it dies with it. The namespace has its own /proc, so
 * tools that look themselves up there (bubblewrap does) find the right processes. So even a strata killed with SIGKILL
 * leaves no mount and no loop device behind (loop devices are set to auto-clear on unmount).
 *
 * Its network namespace has only a loopback interface: what runs in it reaches the mirrors
 * through strata's mirror proxy (host/mirror-proxy.ts) and nothing else. A command that needs
 * the host's network (a `run` step with `network: true`) is entered without it.
 */
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { StrataError } from "../errors.js";
import { type ProcessHandle, run, start } from "./run.js";

export class Namespace {
  private constructor(
    private readonly holder: ProcessHandle,
    /** PID (in the host's PID namespace) of the namespace's init. */
    readonly pid: number,
  ) {}

  static async create(): Promise<Namespace> {
    // start() adds the parent-death signal and registers the holder for reaping.
    const holder = start([
      "unshare",
      "--mount",
      "--propagation",
      "private",
      "--pid",
      "--net",
      "--ipc",
      "--uts",
      "--fork",
      "--kill-child=SIGKILL",
      "--mount-proc",
      "--",
      "sleep",
      "infinity",
    ]);
    const unsharePid = holder.pid;
    // unshare forks; the child, PID 1 of the new namespace, is the process to enter.
    for (let i = 0; i < 200; i++) {
      const child = childOf(unsharePid);
      if (child !== undefined && readComm(child) === "sleep") {
        const ns = new Namespace(holder, child);
        // A new network namespace starts with its loopback interface down.
        const up = await run("ip", ["link", "set", "lo", "up"], { ns, reject: false });
        if (up.exitCode === 0) return ns;
        await ns.close();
        throw new StrataError(
          "E_COMMAND_FAILED",
          `could not bring up the build's loopback: ${up.output.trim()}`,
          {
            hint: "strata needs iproute2's ip (apt-get install iproute2)",
          },
        );
      }
      if (holder.hasExited()) break;
      await sleep(10);
    }
    await holder.kill();
    holder.release();
    const why = holder.stderrTail(5);
    throw new StrataError(
      "E_COMMAND_FAILED",
      `the build namespace did not start${why ? `: ${why}` : ""}`,
      {
        hint: "strata needs root and a kernel with mount and PID namespaces (util-linux's unshare)",
      },
    );
  }

  /** The argv that runs `argv` inside this namespace (with the host's network if asked). */
  wrap(argv: readonly string[], options: { hostNetwork?: boolean } = {}): string[] {
    const net = options.hostNetwork ? [] : ["--net"];
    return ["nsenter", `--target=${this.pid}`, "--mount", "--pid", ...net, "--", ...argv];
  }

  /** A host path that shows `path` as seen inside the namespace (mounts included). */
  view(path: string): string {
    return `/proc/${this.pid}/root${path}`;
  }

  /** Ends the namespace: its mounts go away with it. */
  async close(): Promise<void> {
    await this.holder.kill();
    this.holder.release();
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
