/**
 * The build's result as the report (src/report/): report.json always, in the output
 * directory, and the HTML page when asked (--report FILE.html).
 */
import { type BuildReport, REPORT_FORMAT, writeReport } from "../report/index.js";
import { STRATA_VERSION } from "../version.js";
import type { BuildResult } from "./build.js";

export function toReport(
  result: BuildResult,
  distro: { suite: string; arch: string },
): BuildReport {
  const pkg = (p: { name: string; version: string }) => ({ name: p.name, version: p.version });
  return {
    format: REPORT_FORMAT,
    recipe: result.recipe,
    distro: { suite: distro.suite, arch: distro.arch },
    startTime: result.started,
    seconds: result.seconds,
    strataVersion: STRATA_VERSION,
    layers: result.layers.map((l) => ({
      name: l.name,
      parent: l.parent,
      key: l.key,
      status: l.cached ? "cached" : "built",
      reason: l.reason,
      origin: l.addedBy ? `${l.addedBy.role} layer of ${l.addedBy.output}` : "recipe",
      startedAt: l.startedAt,
      seconds: l.seconds,
      steps: l.steps,
      bytes: l.bytes,
      packages: {
        added: l.packages.added.map(pkg),
        removed: l.packages.removed.map(pkg),
        changed: l.packages.changed.map((c) => ({ name: c.name, from: c.from, to: c.version })),
      },
    })),
    outputs: result.outputs.map((o) => ({
      type: o.type,
      name: o.name,
      layer: o.layer,
      path: o.path,
      bytes: o.bytes,
      startedAt: o.startedAt,
      seconds: o.seconds,
    })),
  };
}

/** Writes report.json into `out` and the HTML page to `html` when given. */
export function writeBuildReport(
  result: BuildResult,
  distro: { suite: string; arch: string },
  html?: string,
): { json: string; html?: string } {
  return writeReport(result.out, toReport(result, distro), html);
}
