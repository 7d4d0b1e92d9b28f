/**
 * An exclusive lock on a file (the cache's, binfmt's state), so two builds never both hold it.
 *
 * The lock is a real flock(2) lock: the kernel grants it to one open file description at a time
 * and drops it when the last descriptor of that description is closed, which happens when its
 * holder exits in any way (SIGKILL included). Node has no flock binding, so util-linux's
 * `flock` takes it for us on strata's own descriptor, passed to it as fd 3: the lock then
 * belongs to that descriptor, which strata keeps open, and `flock` exits at once (it is started
 * with a parent-death signal, so a waiting `flock` dies with strata too). The file is never
 * deleted (a deleted lock file would let two holders lock two different files); it names the
 * holder's PID and start time, for the message of a build that waits.
 */
import { closeSync, constants, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { StrataError } from "../errors.js";
import { systemRunner } from "../host/run.js";

/** The start time of a process (field 22 of /proc/PID/stat), to tell a reused PID apart. */
export function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which may hold spaces.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** "PID STARTTIME" of a process: who holds or uses something. */
export function processId(pid = process.pid): string {
  return `${pid} ${startTime(pid) ?? "?"}`;
}

/** Whether the process named by processId() output is still the same running process. */
export function holderAlive(id: string): boolean {
  const [pid, start] = id.trim().split(" ");
  const n = Number(pid);
  return Number.isInteger(n) && n > 0 && startTime(n) === start;
}

export interface Lock {
  release(): void;
}

/** flock(1)'s exit code when --nonblock finds the lock taken (distinct from its own errors). */
const BUSY = 100;

/** Locks `fd` with flock(1); false when `wait` is false and another holder has it. */
async function flock(path: string, fd: number, wait: boolean): Promise<boolean> {
  const args = [
    "flock",
    "--exclusive",
    ...(wait ? [] : ["--nonblock", "--conflict-exit-code", String(BUSY)]),
    "3",
  ];
  // Always the system's runner: a lock that a test's fake runner pretends to take is no lock.
  const child = systemRunner.start(
    { command: args, argv: args },
    { stdio: ["ignore", "ignore", "pipe", fd] },
  );
  const { code, signal } = await child.exited;
  child.release();
  if (code === 0) return true;
  if (code === BUSY && !wait) return false;
  throw new StrataError(
    "E_LOCKED",
    `could not lock ${path}: flock exited with ${code ?? signal}: ${child.stderrTail()}`,
    { hint: "flock is in util-linux; run `strata doctor`" },
  );
}

/** Who holds the lock, as its file says (the holder writes it just after taking the lock). */
async function holderOf(path: string): Promise<string> {
  for (let tries = 0; tries < 10; tries++) {
    let content = "";
    try {
      content = readFileSync(path, "utf8").trim();
    } catch {}
    if (content) return content.split(" ")[0] ?? "?";
    await sleep(50);
  }
  return "?";
}

/** Takes the lock on `path` (created if missing); `onWait` is told the holder's PID first if it is taken. */
export async function acquireLock(path: string, onWait: (holder: string) => void): Promise<Lock> {
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644);
  try {
    if (!(await flock(path, fd, false))) {
      onWait(await holderOf(path));
      await flock(path, fd, true);
    }
    ftruncateSync(fd, 0);
    writeSync(fd, processId(), 0);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  let held = true;
  return {
    release: () => {
      if (!held) return;
      held = false;
      // Emptied while still held, so it never names a holder that is gone.
      try {
        ftruncateSync(fd, 0);
      } catch {}
      closeSync(fd);
    },
  };
}
