/**
 * An output is written again only when what it is made from changed: its options, the keys of
 * its stack and of the layers it added, the recipe's name, the distro and the timestamp epoch.
 * The key of each output written is kept in `<out>/.strata-outputs.json`; a build whose output
 * has the same key and whose file is still there keeps the file (a no-op build writes nothing).
 * The stamp is removed before an output is written, so an interrupted write is never reused.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { digestOf } from "../cache/canonical.js";
import type { BuildPlan, PlannedOutput } from "../plan/plan.js";

/** Bumped whenever an output's bytes for the same inputs would change. */
export const OUTPUT_FORMAT = "strata-output/1";
const STAMPS = ".strata-outputs.json";

export function outputKey(p: BuildPlan, o: PlannedOutput): string {
  const keyOf = new Map(p.layers.map((l) => [l.name, l.key]));
  const keys = (names: readonly string[]) => names.map((n) => keyOf.get(n));
  return digestOf({
    format: OUTPUT_FORMAT,
    recipe: p.recipe.recipe.name,
    distro: p.settings.distro,
    epoch: p.settings.epoch,
    output: o.output,
    name: o.name,
    stack: keys(o.stack),
    added: Object.fromEntries(Object.entries(o.added).map(([role, s]) => [role, keys(s)])),
  });
}

function read(out: string): Record<string, string> {
  try {
    return JSON.parse(readFileSync(join(out, STAMPS), "utf8")) as Record<string, string>;
  } catch {
    return {};
  }
}

/** Whether `file` in `out` was written from inputs with this key and is still there. */
export function isUpToDate(out: string, file: string, key: string): boolean {
  return read(out)[file] === key && existsSync(join(out, file));
}

/** Records (or, with undefined, forgets) the key `file` was written from. */
export function stampOutput(out: string, file: string, key: string | undefined): void {
  const stamps = read(out);
  if (key === undefined && !(file in stamps)) return;
  if (key === undefined) delete stamps[file];
  else stamps[file] = key;
  const path = join(out, STAMPS);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(stamps, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}
