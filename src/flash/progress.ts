/**
 * Progress of a flash through the reporter: on a terminal a live status line (redrawn at most
 * five times a second), elsewhere a plain line at the start, at each quarter and at the end.
 */
import type { Reporter } from "../progress.js";
import type { FlashProgress } from "./write.js";

const MIB = 1048576;

export const mibPerSecond = (bytes: number, seconds: number) =>
  seconds > 0 ? bytes / MIB / seconds : 0;

export function formatProgress(p: FlashProgress): string {
  const percent = p.total > 0 ? Math.floor((100 * p.bytes) / p.total) : 100;
  const speed = mibPerSecond(p.bytes, p.seconds);
  return `${p.phase === "write" ? "writing" : "verifying"} ${(p.bytes / MIB).toFixed(1)} of ${(p.total / MIB).toFixed(1)} MiB (${percent}%)${p.seconds > 0 ? `, ${speed.toFixed(1)} MiB/s` : ""}`;
}

export function progressTo(reporter: Reporter, live: boolean): (p: FlashProgress) => void {
  let lastDraw = 0;
  let lastQuarter = -1;
  return (p) => {
    const finished = p.bytes >= p.total;
    if (live) {
      const now = Date.now();
      if (!finished && now - lastDraw < 200) return;
      lastDraw = now;
      reporter.status(formatProgress(p));
      return;
    }
    const quarter = p.total > 0 ? Math.floor((4 * p.bytes) / p.total) : 4;
    if (quarter === lastQuarter) return;
    lastQuarter = quarter;
    reporter.status(formatProgress(p));
  };
}
