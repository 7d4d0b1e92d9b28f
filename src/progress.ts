/**
 * Progress of a build. On a terminal: one status line that is rewritten in place (layer, step,
 * the latest line of the tool's output) above a log of finished layers. Elsewhere (CI, pipes):
 * plain timestamped lines. Library callers get a silent reporter unless they pass one.
 */
export interface Reporter {
  /** A notable event: a layer finished, a binfmt registration, a cache hit. */
  info(message: string): void;
  warn(message: string): void;
  /** What is being done now (replaces the previous status on a terminal). */
  status(message: string): void;
  /** One line of a tool's output, shown as detail under the status. */
  detail(line: string): void;
  /** Clears the status line before the program prints something else. */
  done(): void;
}

export const silentReporter: Reporter = {
  info() {},
  warn() {},
  status() {},
  detail() {},
  done() {},
};

const stamp = () => new Date().toISOString().slice(11, 19);

/** Plain lines for logs; tool output only when `verbose`. */
export function lineReporter(stream: NodeJS.WritableStream, verbose = false): Reporter {
  const write = (s: string) => stream.write(`[${stamp()}] ${s}\n`);
  return {
    info: write,
    warn: (m) => write(`warning: ${m}`),
    status: write,
    detail: (l) => {
      if (verbose) stream.write(`    ${l}\n`);
    },
    done() {},
  };
}

export function terminalReporter(stream: NodeJS.WriteStream): Reporter {
  let status = "";
  let detail = "";
  let last = 0;
  const width = () => Math.max(20, (stream.columns ?? 80) - 1);
  const clip = (s: string) => (s.length > width() ? `${s.slice(0, width() - 1)}…` : s);
  const draw = () => {
    stream.write(`\r\x1b[2K${clip(status)}`);
    if (detail) stream.write(`\n\r\x1b[2K\x1b[2m${clip(`  ${detail}`)}\x1b[0m\x1b[1A`);
  };
  const clear = () => stream.write("\r\x1b[2K\n\x1b[2K\x1b[1A");
  return {
    info(m) {
      clear();
      stream.write(`${m}\n`);
      draw();
    },
    warn(m) {
      clear();
      stream.write(`\x1b[33mwarning:\x1b[0m ${m}\n`);
      draw();
    },
    status(m) {
      status = m;
      detail = "";
      draw();
    },
    detail(l) {
      detail = l.trim();
      const now = Date.now();
      if (now - last > 80) {
        last = now;
        draw();
      }
    },
    done() {
      clear();
      status = "";
      detail = "";
    },
  };
}

export function defaultReporter(
  stream: NodeJS.WriteStream = process.stderr,
  verbose = false,
): Reporter {
  return stream.isTTY && !process.env.CI ? terminalReporter(stream) : lineReporter(stream, verbose);
}
