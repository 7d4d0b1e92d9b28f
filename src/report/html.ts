/**
 * The self-contained HTML build report: header summary, timeline and size charts (inline SVG,
 * see charts.ts), the layer table with an expandable <details> per layer, and the outputs.
 * One file, nothing fetched: CSS, SVG and a tiny script are inline, and a Content-Security-
 * Policy forbids any other source. Only the page's own script may run (pinned by its sha256),
 * so even a string that escaped `esc` could not execute. Pure: same report, same bytes.
 */
import { createHash } from "node:crypto";
import { sizeSvg, timelineSvg } from "./charts.js";
import { esc, fmtBytes, fmtSeconds, fmtTime } from "./format.js";
import type { BuildReport, LayerReport, OutputReport } from "./schema.js";

const CSS = `
:root{--fg:#1d2430;--muted:#5f6b7a;--line:#d8dee6;--alt:#f4f6f9;--built:#2f6fd0;--cached:#8a94a3;--out:#23915a}
*{box-sizing:border-box}
body{margin:0 auto;max-width:64rem;padding:1rem;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:#fff}
h1{font-size:1.35rem;margin:.2rem 0 .8rem;overflow-wrap:anywhere}
h2{font-size:1.05rem;margin:1.6rem 0 .5rem;padding-bottom:.2rem;border-bottom:1px solid var(--line)}
.summary{display:grid;grid-template-columns:repeat(auto-fill,minmax(10rem,1fr));gap:.5rem;margin:0}
.summary div{background:var(--alt);border-radius:6px;padding:.35rem .6rem}
.summary dt{font-size:.7rem;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.summary dd{margin:0;font-weight:600;overflow-wrap:anywhere}
svg.chart{display:block;width:100%;height:auto;font:14px system-ui,sans-serif}
svg .name{fill:var(--fg)} svg .name.cached{fill:var(--muted)}
svg .value,svg .tick{fill:var(--muted);font-size:12.5px}
svg .grid{stroke:var(--line);stroke-width:1}
rect.bar.built{fill:#d3e2f8;stroke:var(--built);stroke-width:1}
rect.step.s0{fill:var(--built)} rect.step.s1{fill:#6c9ce6}
rect.bar.cached{fill:var(--cached)} rect.bar.output,rect.size.output{fill:var(--out)}
rect.size.layer{fill:var(--built)}
svg [data-i]{cursor:pointer} svg [data-i]:hover{opacity:.8}
.legend{display:flex;flex-wrap:wrap;gap:.2rem 1rem;font-size:.8rem;color:var(--muted);margin:.3rem 0 0}
.legend i{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;margin-right:.3rem;vertical-align:-.1rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{padding:.3rem .45rem;text-align:left;vertical-align:top;border-bottom:1px solid var(--line)}
th{font-size:.7rem;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);white-space:nowrap}
.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.reason{overflow-wrap:anywhere;min-width:10rem}
tr.layer td{border-bottom:none} tr.more td{padding-top:0}
tr.hl,tr.hl+tr{background:#fff4cc}
.badge{display:inline-block;padding:0 .45rem;border-radius:999px;font-size:.75rem;font-weight:600}
.badge.built{background:#dbe8fb;color:#1f57ad} .badge.cached{background:#e6e9ee;color:#4b5563}
.sub{color:var(--muted);font-size:.8rem}
summary{cursor:pointer;color:var(--muted);font-size:.85rem}
details>div{padding:.3rem 0 .4rem 1rem}
h3{font-size:.8rem;margin:.5rem 0 .15rem;color:var(--muted)}
ol.steps{margin:0;padding-left:1.4rem} ol.steps li span{float:right;color:var(--muted);font-variant-numeric:tabular-nums}
ol.steps li{max-width:36rem;overflow-wrap:anywhere}
ul.pkgs{columns:15rem;margin:0;padding-left:1.2rem}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.add{color:#1c7c4a} .rem{color:#b3261e} .chg{color:#8a5a00}
footer{margin-top:2rem;color:var(--muted);font-size:.75rem}
@media print{
body{max-width:none;padding:0;font-size:11px}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
h2{break-after:avoid} svg.chart,tr,details{break-inside:avoid}
.scroll{overflow:visible}
}`;

/** Links chart bars to table rows, opens every <details> for printing, then marks the page
 * as rendered (with the timeline's laid-out width) so a headless browser can check it. */
const SCRIPT = `(function () {
  var b = document.body;
  function show(i) {
    var d = document.getElementById("more-" + i);
    if (!d) return;
    d.open = true;
    var row = document.getElementById("layer-" + i);
    row.classList.add("hl");
    setTimeout(function () { row.classList.remove("hl"); }, 1500);
    row.scrollIntoView({ block: "center" });
  }
  document.querySelectorAll("svg [data-i]").forEach(function (el) {
    el.addEventListener("click", function () { show(el.getAttribute("data-i")); });
  });
  var saved = [];
  addEventListener("beforeprint", function () {
    saved = [];
    document.querySelectorAll("details").forEach(function (d) { saved.push([d, d.open]); d.open = true; });
  });
  addEventListener("afterprint", function () {
    saved.forEach(function (p) { p[0].open = p[1]; });
  });
  var t = document.querySelector("svg.timeline");
  b.setAttribute("data-timeline-width", t ? String(Math.round(t.getBoundingClientRect().width)) : "0");
  b.setAttribute("data-bars", String(document.querySelectorAll(".timeline rect.bar").length));
  b.setAttribute("data-rendered", "1");
})();`;

const SCRIPT_HASH = createHash("sha256").update(SCRIPT).digest("base64");
const CSP = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${SCRIPT_HASH}'`;

function summary(r: BuildReport): string {
  const cached = r.layers.filter((l) => l.status === "cached").length;
  const modules = r.layers.reduce((n, l) => n + l.bytes, 0);
  const items: [string, string][] = [
    ["Recipe", r.recipe],
    ["Distro", `${r.distro.suite} / ${r.distro.arch}`],
    ["Started", fmtTime(r.startTime)],
    ["Total time", fmtSeconds(r.seconds)],
    ["Layers", `${r.layers.length} (${r.layers.length - cached} built, ${cached} cached)`],
    ["Modules", fmtBytes(modules)],
    ["Outputs", String(r.outputs.length)],
    ["strata", r.strataVersion],
  ];
  const cells = items.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`);
  return `<dl class="summary">${cells.join("")}</dl>`;
}

function list<T>(title: string, cls: string, items: T[], item: (x: T) => string): string {
  if (items.length === 0) return "";
  const lis = items.map((x) => `<li>${item(x)}</li>`).join("");
  return `<h3 class="${cls}">${esc(title)} (${items.length})</h3><ul class="pkgs ${cls}">${lis}</ul>`;
}

function layerDetails(l: LayerReport, i: number): string {
  const p = l.packages;
  const counts = `+${p.added.length} −${p.removed.length} ~${p.changed.length}`;
  const n = l.steps.length;
  const stepCount = l.status === "cached" ? "cached" : `${n} step${n === 1 ? "" : "s"}`;
  const steps =
    l.steps.length === 0
      ? ""
      : `<h3>Steps (${l.steps.length})</h3><ol class="steps">` +
        l.steps
          .map((s) => `<li>${esc(s.label)} <span>${esc(fmtSeconds(s.seconds))}</span></li>`)
          .join("") +
        `</ol>`;
  const pkg = (x: { name: string; version: string }) =>
    `<code>${esc(x.name)}</code> ${esc(x.version)}`;
  const body =
    `<div><div class="sub">key <code>${esc(l.key)}</code></div>${steps}` +
    list("Added", "add", p.added, pkg) +
    list("Removed", "rem", p.removed, pkg) +
    list(
      "Changed",
      "chg",
      p.changed,
      (c) => `<code>${esc(c.name)}</code> ${esc(c.from)} → ${esc(c.to)}`,
    ) +
    `</div>`;
  return (
    `<tr class="more"><td colspan="8"><details id="more-${i}"><summary>` +
    `${esc(stepCount)}, packages ${esc(counts)}</summary>${body}</details></td></tr>`
  );
}

function layerRow(l: LayerReport, i: number): string {
  const sub = [l.parent === null ? "bootstrap" : `on ${l.parent}`];
  if (l.origin !== "recipe") sub.push(`added by ${l.origin}`);
  const p = l.packages;
  return (
    `<tr class="layer ${l.status}" id="layer-${i}"><td><b>${esc(l.name)}</b>` +
    `<div class="sub">${esc(sub.join(" · "))}</div></td>` +
    `<td><span class="badge ${l.status}">${l.status}</span></td>` +
    `<td class="reason">${esc(l.reason)}</td>` +
    `<td class="num">${esc(l.status === "cached" ? "–" : fmtSeconds(l.seconds))}</td>` +
    `<td class="num">${esc(fmtBytes(l.bytes))}</td>` +
    `<td class="num add">${p.added.length}</td><td class="num rem">${p.removed.length}</td>` +
    `<td class="num chg">${p.changed.length}</td></tr>\n${layerDetails(l, i)}`
  );
}

function layerTable(r: BuildReport): string {
  if (r.layers.length === 0) return `<p class="sub">No layers.</p>`;
  const head =
    `<tr><th>Layer</th><th>Status</th><th>Reason</th><th class="num">Time</th>` +
    `<th class="num">Size</th><th class="num" title="added">+</th>` +
    `<th class="num" title="removed">−</th><th class="num" title="changed">~</th></tr>`;
  const rows = r.layers.map(layerRow).join("\n");
  return `<div class="scroll"><table class="layers"><thead>${head}</thead><tbody>\n${rows}\n</tbody></table></div>`;
}

function outputTable(r: BuildReport): string {
  if (r.outputs.length === 0) return `<p class="sub">No outputs.</p>`;
  const row = (o: OutputReport) =>
    `<tr class="output"><td>${esc(o.type)}</td><td><b>${esc(o.name)}</b></td><td>${esc(o.layer)}</td>` +
    `<td><code>${esc(o.path)}</code></td><td class="num">${esc(fmtBytes(o.bytes))}</td>` +
    `<td class="num">${esc(fmtSeconds(o.seconds))}</td></tr>`;
  const head =
    `<tr><th>Type</th><th>Name</th><th>Top layer</th><th>Path</th>` +
    `<th class="num">Size</th><th class="num">Time</th></tr>`;
  return `<div class="scroll"><table class="outputs"><thead>${head}</thead><tbody>${r.outputs.map(row).join("")}</tbody></table></div>`;
}

const LEGEND =
  `<p class="legend"><span><i style="background:var(--built)"></i>built (segments: steps)</span>` +
  `<span><i style="background:var(--cached)"></i>cached</span>` +
  `<span><i style="background:var(--out)"></i>output</span></p>`;

/** The whole report as one HTML document. Pure: no I/O, no clock, no locale. */
export function renderReportHtml(report: BuildReport): string {
  const r = report;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${esc(CSP)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="strata ${esc(r.strataVersion)}">
<title>strata build report: ${esc(r.recipe)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>strata build report: ${esc(r.recipe)}</h1>
${summary(r)}</header>
<section><h2>Timeline</h2>
${timelineSvg(r)}
${LEGEND}</section>
<section><h2>Sizes</h2>
${sizeSvg(r)}</section>
<section><h2>Layers</h2>
${layerTable(r)}</section>
<section><h2>Outputs</h2>
${outputTable(r)}</section>
<footer>${esc(r.format)} · generated by strata ${esc(r.strataVersion)}</footer>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
