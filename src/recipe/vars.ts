/**
 * `${name}` substitution of recipe variables into every string of a recipe. `$${` is a literal
 * `${`. Inside `run` scripts an unknown name is left alone, because it is the shell's own
 * variable; anywhere else it is an error, as a typo would otherwise go unnoticed.
 */
import type { FieldPath } from "./locate.js";

export type Vars = Record<string, string>;

export interface VarProblem {
  path: FieldPath;
  name: string;
}

const REFERENCE = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Parses `--set key=value` arguments. */
export function parseSetArgs(sets: readonly string[]): Vars {
  const out: Vars = {};
  for (const s of sets) {
    const eq = s.indexOf("=");
    if (eq <= 0) throw new Error(`--set ${s}: expected key=value`);
    out[s.slice(0, eq)] = s.slice(eq + 1);
  }
  return out;
}

function isRunScript(path: FieldPath): boolean {
  const i = path.lastIndexOf("run");
  return i >= 0 && (i === path.length - 1 || (i === path.length - 2 && path.at(-1) === "script"));
}

export function substitute(
  value: unknown,
  vars: Vars,
  problems: VarProblem[],
  path: FieldPath = [],
): unknown {
  if (typeof value === "string") {
    const lenient = isRunScript(path);
    return value.replace(REFERENCE, (whole, escaped: string, name: string) => {
      if (escaped) return whole.slice(1);
      const v = vars[name];
      if (v !== undefined) return v;
      if (!lenient) problems.push({ path, name });
      return whole;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, vars, problems, [...path, i]));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // The vars map is the source of values, not a place to substitute into.
      out[k] = path.length === 0 && k === "vars" ? v : substitute(v, vars, problems, [...path, k]);
    }
    return out;
  }
  return value;
}
