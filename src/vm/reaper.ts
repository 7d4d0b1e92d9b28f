/**
 * Nothing a VM leaves behind survives strata: every QEMU process and temporary file of a
 * machine is registered here, and killed/removed when the process exits or gets SIGINT,
 * SIGTERM or SIGHUP, even if the code that started it never reaches its `finally`. QEMU is
 * also started under `setpriv --pdeathsig KILL`, so a SIGKILLed strata takes it along.
 *
 * When the program has its own handler for a signal (the CLI has), that handler decides how to
 * exit and the `exit` hook does the reaping; otherwise the reaper re-raises the signal so the
 * default action (termination) still happens.
 */
import { rmSync } from "node:fs";

export interface Reapable {
  /** PID of a process to SIGKILL. */
  pid?: number;
  /** Files or directories to remove. */
  paths: string[];
  /** Run (synchronously) after the kill, e.g. to give the terminal back its settings. */
  after?: () => void;
}

const live = new Set<Reapable>();
let hooked = false;

function reap(item: Reapable): void {
  if (item.pid !== undefined) {
    try {
      process.kill(item.pid, "SIGKILL");
    } catch {}
  }
  for (const p of item.paths) {
    try {
      rmSync(p, { recursive: true, force: true });
    } catch {}
  }
  try {
    item.after?.();
  } catch {}
}

function reapAll(): void {
  for (const item of live) reap(item);
  live.clear();
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", reapAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const handler = () => {
      reapAll();
      // Only this handler: nobody else will end the process, so restore the default action.
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, handler);
        process.kill(process.pid, signal);
      }
    };
    // Prepended, so it runs while `once` handlers of the program are still counted.
    process.prependListener(signal, handler);
  }
}

/** Registers `item`; the returned function unregisters it (after the caller cleaned up). */
export function track(item: Reapable): () => void {
  hook();
  live.add(item);
  return () => {
    live.delete(item);
  };
}
