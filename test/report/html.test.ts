/** The HTML report as text: escaping, the charts' geometry, self-containment, the table. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { PLOT_W, PLOT_X, sizeSvg, timelineSvg } from "../../src/report/charts.js";
import { esc, fmtBytes, fmtSeconds } from "../../src/report/format.js";
import { renderReportHtml } from "../../src/report/html.js";
import { fakeReport, HOSTILE_LABEL, HOSTILE_NAME, HOSTILE_REASON } from "./fixture.js";

interface Rect {
  cls: string;
  x: number;
  width: number;
  i?: string;
}

function rects(svg: string, cls: string): Rect[] {
  const out: Rect[] = [];
  for (const m of svg.matchAll(/<rect class="([^"]*)"([^>]*)>/g)) {
    const classes = m[1]!.split(" ");
    if (!cls.split(".").every((c) => classes.includes(c))) continue;
    const attr = (n: string) => new RegExp(` ${n}="([^"]*)"`).exec(m[2]!)?.[1];
    out.push({ cls: m[1]!, x: Number(attr("x")), width: Number(attr("width")), i: attr("data-i") });
  }
  return out;
}

const close = (a: number, b: number, msg?: string) =>
  assert.ok(Math.abs(a - b) < 0.02, msg ?? `${a} ≈ ${b}`);

test("esc covers every character that can break out of text or an attribute", () => {
  assert.equal(
    esc(`<a href="x" title='y'>&</a>`),
    "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;",
  );
});

test("hostile names, reasons and step labels render as text, never as markup", () => {
  const html = renderReportHtml(fakeReport());
  for (const s of [HOSTILE_LABEL, HOSTILE_REASON, HOSTILE_NAME]) {
    assert.ok(!html.includes(s), `raw ${s} in the page`);
    assert.ok(html.includes(esc(s)), `escaped ${s} missing`);
  }
  assert.equal(html.match(/<script/g)?.length, 1, "only the page's own script");
  assert.ok(!/<img/.test(html));
});

test("the page is self-contained and its CSP pins the one inline script", () => {
  const html = renderReportHtml(fakeReport());
  const urls = [...html.matchAll(/(?:https?:)?\/\/[a-z0-9.-]+/gi)].map((m) => m[0]);
  assert.deepEqual([...new Set(urls)], ["http://www.w3.org"], "only the SVG namespace");
  assert.ok(!/<link|@import|url\(/i.test(html));
  const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
  const hash = createHash("sha256").update(script).digest("base64");
  assert.ok(html.includes(`script-src &#39;sha256-${hash}&#39;`), "CSP hash matches the script");
  assert.ok(html.includes("default-src &#39;none&#39;"));
});

test("the timeline has one bar per layer and per output, proportional to time", () => {
  const r = fakeReport();
  const svg = timelineSvg(r);
  const layers = rects(svg, "bar.layer");
  assert.equal(layers.length, r.layers.length);
  assert.equal(rects(svg, "bar.output").length, r.outputs.length);
  const scale = PLOT_W / r.seconds; // the fixture's spans end exactly at r.seconds
  // cached: a thin marker at its start; built: width = seconds.
  assert.ok(layers[0]!.cls.includes("cached"));
  assert.ok(layers[0]!.width > 0 && layers[0]!.width <= 2);
  close(layers[1]!.width, 60 * scale);
  close(layers[2]!.width, 30 * scale);
  close(layers[2]!.x, PLOT_X + 60 * scale);
  const outs = rects(svg, "bar.output");
  close(outs[1]!.x, PLOT_X + 94 * scale);
  close(outs[1]!.width, 6 * scale);
});

test("step segments sit inside their layer's bar, in order, and carry the label as title", () => {
  const r = fakeReport();
  const svg = timelineSvg(r);
  const steps = rects(svg, "step");
  assert.equal(steps.length, 5, "3 + 2 steps, none for the cached layer");
  const sys = steps.filter((s) => s.i === "1");
  const bar = rects(svg, "bar.layer")[1]!;
  close(sys[0]!.x, bar.x);
  close(sys[1]!.x, sys[0]!.x + sys[0]!.width);
  close(
    sys.reduce((n, s) => n + s.width, 0),
    bar.width,
  );
  close(sys[0]!.width / sys[1]!.width, 40 / 5);
  assert.ok(svg.includes(`<title>${esc(HOSTILE_LABEL)}: ${fmtSeconds(20)}</title>`));
});

test("steps longer than their layer are clipped to the bar", () => {
  const r = fakeReport();
  r.layers[1]!.steps = [
    { label: "a", seconds: 50 },
    { label: "b", seconds: 50 },
  ];
  const svg = timelineSvg(r);
  const bar = rects(svg, "bar.layer")[1]!;
  const sys = rects(svg, "step").filter((s) => s.i === "1");
  close(
    sys.reduce((n, s) => n + s.width, 0),
    bar.width,
  );
});

test("the size chart is proportional to bytes, the largest filling the plot", () => {
  const r = fakeReport();
  const svg = sizeSvg(r);
  const bars = rects(svg, "size");
  assert.equal(bars.length, r.layers.length + r.outputs.length);
  const max = 1024 * 1024 * 1024;
  const want = [...r.layers.map((l) => l.bytes), ...r.outputs.map((o) => o.bytes)];
  bars.forEach((b, k) => close(b.width, (want[k]! / max) * PLOT_W, `bar ${k}`));
  assert.ok(svg.includes(fmtBytes(40 * 1024 * 1024)));
});

test("the layer table has one row and one <details> per layer, with package counts", () => {
  const r = fakeReport();
  const html = renderReportHtml(r);
  assert.equal(html.match(/<tr class="layer /g)?.length, r.layers.length);
  assert.equal(html.match(/<details /g)?.length, r.layers.length);
  assert.equal(html.match(/<tr class="output"/g)?.length, r.outputs.length);
  assert.ok(html.includes("packages +1 −1 ~1"));
  assert.ok(html.includes("<code>libc6</code> 2.41-11 → 2.41-12"));
  assert.ok(html.includes("added by disk"));
  assert.ok(html.includes("trixie / amd64"));
});

test("rendering is deterministic and copes with an empty or instant build", () => {
  assert.equal(renderReportHtml(fakeReport()), renderReportHtml(fakeReport()));
  const empty = renderReportHtml(fakeReport({ layers: [], outputs: [], seconds: 0 }));
  assert.ok(empty.includes("No layers.") && !empty.includes("NaN"));
  const r = fakeReport({ seconds: 0 });
  for (const x of [...r.layers, ...r.outputs]) Object.assign(x, { startedAt: 0, seconds: 0 });
  for (const l of r.layers) l.steps = l.steps.map((s) => ({ ...s, seconds: 0 }));
  const html = renderReportHtml(r);
  assert.ok(!html.includes("NaN") && !html.includes("Infinity"));
});

test("durations and sizes read naturally", () => {
  assert.deepEqual([0.44, 42.4, 185, 3725].map(fmtSeconds), [
    "0.4 s",
    "42 s",
    "3 m 05 s",
    "1 h 02 m",
  ]);
  assert.deepEqual([512, 3482, 125829120].map(fmtBytes), ["512 B", "3.4 KiB", "120.0 MiB"]);
});
