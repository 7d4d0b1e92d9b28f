/**
 * Recipe variables (`vars`, `--set name=value`) and where their values go. `$${` is a literal
 * `${` everywhere.
 *
 * - In a field of the recipe, `${name}` is replaced by the value, and the result is then checked
 *   by the schema like anything written there (a hostname must still be a hostname). An unknown
 *   name is an error, as a typo would otherwise go unnoticed.
 * - In a script (a step's `run`, a test check's `run`) a value never becomes shell text: `${name}`
 *   stays the shell's reference and the value is handed over as a variable of that name. A `run`
 *   step gets it in its `env` (a `run: SCRIPT` string becomes `{ script, env }`), so the
 *   layer's cache key covers it; a test check, which runs through the guest's serial console,
 *   gets `name='value'` lines (quoted) before its command. `$(...)`, `;` or a newline in a
 *   value stay literal characters. `${x}` that names no var is the shell's own.
 *
 * Names are looked up as own keys only (a Map), so `${constructor}` is an unknown variable
 * like any other, not a property of every object.
 */
import { q } from "../host/shell.js";
import { type FieldPath, suggest } from "./locate.js";

/** Variables by name, as `--set` gives them and the recipe's `vars` declares them. */
export type Vars = Record<string, string>;
/** Variables as the recipe code looks them up: own names only. */
export type VarMap = ReadonlyMap<string, string>;

export interface VarProblem {
  path: FieldPath;
  message: string;
  hint?: string;
}

export const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const REFERENCE = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Parses `--set key=value` arguments (keys are own properties, `__proto__` included). */
export function parseSetArgs(sets: readonly string[]): Vars {
  const out = new Map<string, string>();
  for (const s of sets) {
    const eq = s.indexOf("=");
    if (eq <= 0) throw new Error(`--set ${s}: expected key=value`);
    out.set(s.slice(0, eq), s.slice(eq + 1));
  }
  return Object.fromEntries(out);
}

/** A record's own entries as a Map (never its prototype's). */
export function varMap(vars: Readonly<Vars> | VarMap): VarMap {
  if (vars instanceof Map) return vars;
  return new Map(Object.entries(vars as Readonly<Vars>));
}

/** The value of `name`, only if it is one of the vars' own names. */
export function varValue(vars: Readonly<Vars>, name: string): string | undefined {
  return Object.hasOwn(vars, name) ? vars[name] : undefined;
}

function unknownVar(path: FieldPath, name: string, vars: VarMap): VarProblem {
  const s = suggest(name, [...vars.keys()]);
  return {
    path,
    message: `unknown variable '\${${name}}'`,
    hint: s
      ? `did you mean '${s}'?`
      : "declare it under vars, or write $${...} for a literal ${...}",
  };
}

/** A field's text with every `${name}` replaced; unknown names are problems. */
function substituteText(text: string, vars: VarMap, problems: VarProblem[], path: FieldPath) {
  return text.replace(REFERENCE, (whole, escaped: string, name: string) => {
    if (escaped) return whole.slice(1);
    const v = vars.get(name);
    if (v !== undefined) return v;
    problems.push(unknownVar(path, name, vars));
    return whole;
  });
}

/** A script as the shell gets it (`$${` made `${`), and the vars it names, in order. */
export function scriptVars(script: string, vars: VarMap): { script: string; names: string[] } {
  const names: string[] = [];
  const text = script.replace(REFERENCE, (whole, escaped: string, name: string) => {
    if (escaped) return whole.slice(1);
    if (vars.has(name) && !names.includes(name)) names.push(name);
    return whole;
  });
  return { script: text, names };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/** A `run` step's value with its vars moved into `env` (see the header). */
function runStepValue(
  run: unknown,
  vars: VarMap,
  problems: VarProblem[],
  path: FieldPath,
): unknown {
  if (typeof run === "string") {
    const { script, names } = scriptVars(run, vars);
    if (names.length === 0) return script;
    return { script, env: Object.fromEntries(names.map((n) => [n, vars.get(n) as string])) };
  }
  if (!isObject(run) || typeof run.script !== "string") {
    return substitute(run, vars, problems, path);
  }
  const { script, names } = scriptVars(run.script, vars);
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(run)) {
    out.set(k, k === "script" ? script : substitute(v, vars, problems, [...path, k]));
  }
  if (names.length === 0) return Object.fromEntries(out);
  const given = out.get("env");
  const env = new Map(isObject(given) ? Object.entries(given) : []);
  for (const name of names) {
    const value = vars.get(name) as string;
    if (env.has(name) && env.get(name) !== value) {
      problems.push({
        path: [...path, "env", name],
        message: `env.${name} would hide the recipe variable '${name}' that the script names as \${${name}}`,
        hint: `rename one of them, or write $\${${name}} in the script for the env value`,
      });
    } else env.set(name, value);
  }
  out.set("env", Object.fromEntries(env));
  return Object.fromEntries(out);
}

/** A test check's command with `name='value'` lines for the vars it names. */
function checkCommand(command: string, vars: VarMap): string {
  const { script, names } = scriptVars(command, vars);
  if (names.length === 0) return script;
  return `${names.map((n) => `${n}=${q(vars.get(n) as string)}`).join("\n")}\n${script}`;
}

/** Where scripts sit: `layers[i].steps[j]` (a step), `tests.checks[k]` and `health[k]` (checks). */
function scriptHolder(path: FieldPath): "step" | "check" | undefined {
  if (path.length === 4 && path[0] === "layers" && path[2] === "steps") return "step";
  if (path.length === 3 && path[0] === "tests" && path[1] === "checks") return "check";
  if (path.length === 2 && path[0] === "health") return "check";
  return undefined;
}

/**
 * The recipe with vars substituted and moved into scripts' environments (see the header);
 * every unknown `${name}` outside a script is added to `problems`.
 */
export function substitute(
  value: unknown,
  vars: VarMap,
  problems: VarProblem[],
  path: FieldPath = [],
): unknown {
  if (typeof value === "string") return substituteText(value, vars, problems, path);
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, vars, problems, [...path, i]));
  if (!isObject(value)) return value;
  const holder = scriptHolder(path);
  // Entries, not assignments: a key named __proto__ stays a key (and an unknown one).
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => {
      const at = [...path, k];
      // The vars map is the source of values, not a place to substitute into.
      if (path.length === 0 && k === "vars") return [k, v];
      if (holder === "step" && k === "run") return [k, runStepValue(v, vars, problems, at)];
      if (holder === "check" && k === "run" && typeof v === "string") {
        return [k, checkCommand(v, vars)];
      }
      return [k, substitute(v, vars, problems, at)];
    }),
  );
}
