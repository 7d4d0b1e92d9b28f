/**
 * The report's two inline SVG charts, drawn in a fixed 800-wide coordinate space that scales
 * to the page (viewBox), so the file needs no script or library to show them:
 * - the timeline: one `rect.bar` per layer and per output at its start offset and duration,
 *   step segments (`rect.step`, with the label as hover title) inside a built layer's bar, and
 *   a thin marker for a cached layer;
 * - the size chart: one `rect.size` per layer module and per output, proportional to bytes.
 * Bars carry `data-i` (the layer's index) so the page script can link them to the table.
 */
import { esc, fmtBytes, fmtSeconds, num, truncate } from "./format.js";
import type { BuildReport } from "./schema.js";

export const WIDTH = 800;
/** Name column on the left, value column on the right; the plot is in between. */
export const PLOT_X = 170;
export const PLOT_W = WIDTH - PLOT_X - 80;
const ROW = 24;
const BAR = 16;
const AXIS = 24;
const CACHED_W = 2;
const NAME_MAX = 20;

/** A tick interval that gives at most about 8 ticks over `total` seconds. */
export function tickStep(total: number): number {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400];
  return steps.find((s) => total / s <= 8) ?? Math.ceil(total / 8 / 3600) * 3600;
}

/** The time the timeline spans: the build's total, or the last end if something ran later. */
export function timelineSpan(r: BuildReport): number {
  const ends = [...r.layers, ...r.outputs].map((x) => x.startedAt + x.seconds);
  return Math.max(r.seconds, ...ends) || 1;
}

function rowLabel(y: number, name: string, extra: string, cls: string): string {
  return (
    `<text class="name ${cls}" x="${PLOT_X - 8}" y="${y + BAR - 3}" text-anchor="end">` +
    `<title>${esc(name)}</title>${esc(truncate(name, NAME_MAX) + extra)}</text>`
  );
}

function value(y: number, text: string): string {
  return `<text class="value" x="${WIDTH - 4}" y="${y + BAR - 3}" text-anchor="end">${esc(text)}</text>`;
}

export function timelineSvg(r: BuildReport): string {
  const total = timelineSpan(r);
  const x = (t: number) => PLOT_X + (Math.min(t, total) / total) * PLOT_W;
  const rows = r.layers.length + r.outputs.length;
  const gap = r.outputs.length > 0 && r.layers.length > 0 ? ROW / 2 : 0;
  const height = AXIS + rows * ROW + gap + 4;
  const parts: string[] = [];

  const step = tickStep(total);
  for (let t = 0; t <= total + 1e-9; t += step) {
    parts.push(
      `<line class="grid" x1="${num(x(t))}" x2="${num(x(t))}" y1="${AXIS - 6}" y2="${height}"/>` +
        `<text class="tick" x="${num(x(t))}" y="${AXIS - 10}" text-anchor="middle">${esc(fmtSeconds(t))}</text>`,
    );
  }

  r.layers.forEach((l, i) => {
    const y = AXIS + i * ROW + (ROW - BAR) / 2;
    const x0 = x(l.startedAt);
    const cached = l.status === "cached";
    const w = cached ? CACHED_W : Math.max(x(l.startedAt + l.seconds) - x0, 1);
    const tip = `${l.name}: ${cached ? "cached" : `built in ${fmtSeconds(l.seconds)}`} (${l.reason})`;
    parts.push(rowLabel(y, l.name, cached ? " (cached)" : "", cached ? "cached" : "built"));
    parts.push(
      `<rect class="bar layer ${cached ? "cached" : "built"}" data-i="${i}" x="${num(x0)}" y="${y}"` +
        ` width="${num(w)}" height="${BAR}"><title>${esc(tip)}</title></rect>`,
    );
    if (!cached) {
      let t = l.startedAt;
      const end = l.startedAt + l.seconds;
      l.steps.forEach((s, j) => {
        const sx = x(Math.min(t, end));
        const sw = x(Math.min(t + s.seconds, end)) - sx;
        t += s.seconds;
        if (sw <= 0) return;
        parts.push(
          `<rect class="step s${j % 2}" data-i="${i}" x="${num(sx)}" y="${y + 2}" width="${num(sw)}"` +
            ` height="${BAR - 4}"><title>${esc(`${s.label}: ${fmtSeconds(s.seconds)}`)}</title></rect>`,
        );
      });
    }
    parts.push(value(y, cached ? "cached" : fmtSeconds(l.seconds)));
  });

  r.outputs.forEach((o, k) => {
    const y = AXIS + (r.layers.length + k) * ROW + gap + (ROW - BAR) / 2;
    const x0 = x(o.startedAt);
    const w = Math.max(x(o.startedAt + o.seconds) - x0, 1);
    const tip = `${o.type} output ${o.name}: ${fmtSeconds(o.seconds)}`;
    parts.push(rowLabel(y, o.name, ` (${o.type})`, "output"));
    parts.push(
      `<rect class="bar output" x="${num(x0)}" y="${y}" width="${num(w)}" height="${BAR}">` +
        `<title>${esc(tip)}</title></rect>`,
    );
    parts.push(value(y, fmtSeconds(o.seconds)));
  });

  return svg("timeline", height, "Build timeline", parts);
}

export function sizeSvg(r: BuildReport): string {
  const max = Math.max(1, ...r.layers.map((l) => l.bytes), ...r.outputs.map((o) => o.bytes));
  const gap = r.outputs.length > 0 && r.layers.length > 0 ? ROW / 2 : 0;
  const height = (r.layers.length + r.outputs.length) * ROW + gap + 4;
  const parts: string[] = [];
  const bar = (y: number, bytes: number, cls: string, extra: string, tip: string) =>
    `<rect class="size ${cls}"${extra} x="${PLOT_X}" y="${y}" width="${num((bytes / max) * PLOT_W)}"` +
    ` height="${BAR}"><title>${esc(tip)}</title></rect>`;
  r.layers.forEach((l, i) => {
    const y = i * ROW + (ROW - BAR) / 2;
    parts.push(rowLabel(y, l.name, "", "layer"));
    parts.push(bar(y, l.bytes, "layer", ` data-i="${i}"`, `${l.name}: ${fmtBytes(l.bytes)}`));
    parts.push(value(y, fmtBytes(l.bytes)));
  });
  r.outputs.forEach((o, k) => {
    const y = (r.layers.length + k) * ROW + gap + (ROW - BAR) / 2;
    parts.push(rowLabel(y, o.name, ` (${o.type})`, "output"));
    parts.push(bar(y, o.bytes, "output", "", `${o.name}: ${fmtBytes(o.bytes)}`));
    parts.push(value(y, fmtBytes(o.bytes)));
  });
  return svg("sizes", height, "Module and output sizes", parts);
}

function svg(cls: string, height: number, label: string, parts: string[]): string {
  return (
    `<svg class="chart ${cls}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${num(height)}"` +
    ` role="img" aria-label="${esc(label)}">\n${parts.join("\n")}\n</svg>`
  );
}
