/**
 * An exclusive lock on a cache directory, so two builds never write the same cache at once.
 * The lock file names the holder's PID and start time; a lock whose holder is gone (a build
 * killed with SIGKILL) is stale and taken over.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 22 (starttime); fields after the command name, which may hold spaces.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function holderAlive(content: string): boolean {
  const [pid, start] = content.trim().split(" ");
  const n = Number(pid);
  return Number.isInteger(n) && n > 0 && startTime(n) === start;
}

export interface Lock {
  release(): void;
}

export async function acquireLock(path: string, onWait: (holder: string) => void): Promise<Lock> {
  const me = `${process.pid} ${startTime(process.pid)}`;
  let told = false;
  for (;;) {
    try {
      const fd = openSync(path, "wx", 0o644);
      writeSync(fd, me);
      closeSync(fd);
      return {
        release: () => {
          try {
            if (readFileSync(path, "utf8") === me) rmSync(path);
          } catch {}
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    let content = "";
    try {
      content = readFileSync(path, "utf8");
    } catch {
      continue;
    }
    if (!holderAlive(content)) {
      rmSync(path, { force: true });
      continue;
    }
    if (!told) {
      onWait(content.split(" ")[0] ?? "?");
      told = true;
    }
    await sleep(500);
  }
}
