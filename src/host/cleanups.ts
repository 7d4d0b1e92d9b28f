/**
 * Everything strata must undo, in one place.
 *
 * - `Cleanups`: a stack of undo actions (debos' idea), one per build: pushed as resources are
 *   taken, run in reverse when the work ends, whether it succeeded or failed. A failing cleanup
 *   is reported and the others still run.
 * - One process-wide registry: processes to SIGKILL, paths to remove and synchronous `after`
 *   hooks (reaped on the `exit` event, which cannot wait), and async closers such as a build
 *   context's `close()` (run on an interrupt, which can).
 * - One signal path. SIGINT, SIGTERM and SIGHUP run the closers, then reap. The CLI calls
 *   `handleSignals()`, and then strata says so on stderr and exits 130. A library user who did
 *   not gets the same cleanup, then the signal's default action (unless the program has its own
 *   handler, which then decides how to exit; the `exit` event still reaps).
 */
import { rmSync } from "node:fs";

export class Cleanups {
  private readonly stack: { what: string; undo: () => Promise<void> | void }[] = [];

  push(what: string, undo: () => Promise<void> | void): void {
    this.stack.push({ what, undo });
  }

  async runAll(report: (message: string) => void = () => {}): Promise<void> {
    while (this.stack.length > 0) {
      const item = this.stack.pop();
      if (!item) break;
      try {
        await item.undo();
      } catch (e) {
        report(`cleanup '${item.what}' failed: ${(e as Error).message}`);
      }
    }
  }
}

/** What must not outlive strata, undone synchronously (it runs on the `exit` event too). */
export interface Reapable {
  /** PID of a process to SIGKILL (set it to undefined once the process is gone). */
  pid?: number;
  /** Files or directories to remove. */
  paths?: string[];
  /** Run after the kill, e.g. to give the terminal back its settings. */
  after?: () => void;
}

/** Something with an async close() to run on an interrupt (a build context). */
export interface Closer {
  close(): Promise<void>;
}

const reapables = new Set<Reapable>();
const closers = new Set<Closer>();
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
let hooked = false;
let cliExit = false;
let interrupted = false;

/** Registers `item` for reaping; the returned function unregisters it (the owner cleaned up). */
export function trackForReaping(item: Reapable): () => void {
  hook();
  reapables.add(item);
  return () => {
    reapables.delete(item);
  };
}

/** Registers `closer` to be closed (awaited) when strata is interrupted. */
export function registerCloser(closer: Closer): void {
  hook();
  closers.add(closer);
}

/** Unregisters `closer` (call it from its close()). */
export function unregisterCloser(closer: Closer): void {
  closers.delete(closer);
}

/** Kills, removes and runs the `after` hooks of everything registered; synchronous. */
export function reapAll(): void {
  for (const item of reapables) {
    if (item.pid !== undefined) {
      try {
        process.kill(item.pid, "SIGKILL");
      } catch {}
    }
    for (const p of item.paths ?? []) {
      try {
        rmSync(p, { recursive: true, force: true });
      } catch {}
    }
    try {
      item.after?.();
    } catch {}
  }
  reapables.clear();
}

/** Closes every registered closer (failures are ignored: the others still run). */
export async function closeAll(): Promise<void> {
  const all = [...closers];
  closers.clear();
  await Promise.allSettled(all.map((c) => c.close()));
}

/**
 * The CLI's signal handling: on SIGINT, SIGTERM or SIGHUP strata prints
 * `strata: SIGINT, cleaning up`, closes, reaps and exits 130. A second signal exits at once
 * (after reaping).
 */
export function handleSignals(): void {
  cliExit = true;
  hook();
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", reapAll);
  for (const signal of SIGNALS) {
    const handler = () => {
      // Counted now, while a program's own `once` handlers are still registered.
      const alone = process.listenerCount(signal) === 1;
      if (interrupted) {
        reapAll();
        process.exit(130);
      }
      interrupted = true;
      if (cliExit) process.stderr.write(`\nstrata: ${signal}, cleaning up\n`);
      void closeAll().finally(() => {
        reapAll();
        if (cliExit) process.exit(130);
        // Nobody else will end the process: restore the default action and take it.
        if (alone) {
          process.removeListener(signal, handler);
          process.kill(process.pid, signal);
        }
        interrupted = false;
      });
    };
    // Prepended, so it runs before (and counts) the program's own handlers.
    process.prependListener(signal, handler);
  }
}
