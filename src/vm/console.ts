/**
 * What the guest printed on its serial console, and waiting for patterns in it. Carriage
 * returns and terminal escape sequences (firmware menus, getty's screen clear) are removed so
 * patterns and error messages see plain lines. A cursor remembers how far earlier waits
 * consumed the text, so waiting for `login:` after a reboot finds the new prompt, not the old.
 * No processes here: a Machine appends what QEMU prints.
 */
import { StrataError } from "../errors.js";

export const TAIL_LINES = 30;
/** How far back a wait searches again output it has already searched (see waitFor). */
export const LOOKBACK = 64 * 1024;

/** CSI sequences (colours, cursor moves, clears), charset selections, and the rest of ESC x. */
const ESCAPES = /\x1b(?:\[[0-9;?=<>]*[ -/]*[@-~]|[()][A-Za-z0-9]|[=>78cDEHM])/g;
/** An escape sequence cut off at the end of a chunk. */
const PARTIAL_ESCAPE = /\x1b(?:\[[0-9;?=<>]*[ -/]*|[()])?$/;

export function cleanConsoleText(text: string): string {
  return text.replace(ESCAPES, "").replace(/\r/g, "");
}

interface Waiter {
  check(): void;
  fail(error: Error): void;
}

export class ConsoleBuffer {
  private text = "";
  private pending = "";
  private cursor = 0;
  private readonly waiters = new Set<Waiter>();
  private ended: Error | undefined;

  /** Everything printed so far, cleaned. */
  get output(): string {
    return this.text;
  }

  append(chunk: string): void {
    let data = this.pending + chunk;
    const partial = PARTIAL_ESCAPE.exec(data);
    this.pending = partial ? partial[0] : "";
    if (partial) data = data.slice(0, partial.index);
    this.text += cleanConsoleText(data);
    for (const w of [...this.waiters]) w.check();
  }

  /** No more output will come (QEMU exited): pending and later waits fail with `error`. */
  end(error: Error): void {
    this.ended = error;
    for (const w of [...this.waiters]) w.fail(error);
  }

  /** Consumes everything printed so far: later waits only see new output. */
  skip(): void {
    this.cursor = this.text.length;
  }

  /** The last `lines` lines printed. */
  tail(lines = TAIL_LINES): string {
    return this.text.trimEnd().split("\n").slice(-lines).join("\n");
  }

  /**
   * Resolves with the first match of `pattern` in the output after the cursor and moves the
   * cursor past it. A string matches literally. A match must lie within the last 64 KiB
   * printed when its last character arrives. Times out with E_VM_TIMEOUT quoting the last
   * lines of the console.
   */
  waitFor(pattern: RegExp | string, timeoutMs: number, what?: string): Promise<RegExpExecArray> {
    const re =
      typeof pattern === "string"
        ? new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
        : new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ""));
    let scanned = 0;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        check: () => {
          // Output already searched is searched again only as far back as LOOKBACK, so a
          // long boot does not cost quadratic time.
          const start = Math.max(this.cursor, lineStart(this.text, scanned - LOOKBACK));
          scanned = this.text.length;
          const m = re.exec(this.text.slice(start));
          if (!m) return;
          this.cursor = start + m.index + m[0].length;
          m.index += start;
          done();
          resolve(m);
        },
        fail: (error) => {
          done();
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        waiter.fail(
          new StrataError(
            "E_VM_TIMEOUT",
            `timed out after ${formatSeconds(timeoutMs)} waiting for ${what ?? String(re)} on the serial console, whose last line is ${JSON.stringify(this.tail(1))}; its last lines:\n${this.tail()}`,
            {
              hint: "the guest is slow (TCG?) or stuck; raise the timeout or read the console log",
            },
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
      waiter.check();
      if (this.waiters.has(waiter) && this.ended) waiter.fail(this.ended);
    });
  }
}

/**
 * The line the kernel's die() prints for an oops: "Oops: 0000 [#1] SMP", "general protection
 * fault: 0000 [#1]", "Oops: int3: 0000 [#1] PREEMPT SMP", arm64's "Internal error: Oops:
 * 0000000096000004 [#1]". The "[#N]" die counter is what makes it one. A panic from init
 * (the update tests make one on purpose) prints no such line.
 */
export const KERNEL_OOPS = /^(?:\[\s*\d+\.\d+\] )?[\w ]+(?:: [\w ]+)*: [0-9a-f]{4,16} \[#\d+\]/m;

/** Where the line holding `pos` starts (0 for a position before the text). */
export function lineStart(text: string, pos: number): number {
  return pos <= 0 ? 0 : text.lastIndexOf("\n", pos - 1) + 1;
}

export function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}
