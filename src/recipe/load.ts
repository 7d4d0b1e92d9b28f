/**
 * Loading a recipe: read the YAML, substitute vars, check it against the schema and then
 * semantically, and report every problem at once with file, line, column, field path and a
 * hint. Nothing is built, downloaded or written here.
 */
import { readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { type RecipeProblem, StrataError } from "../errors.js";
import { stepObjectKeys } from "../steps/index.js";
import { type ResolvedLayer, resolveLayers } from "./graph.js";
import { type FieldPath, formatPath, locate, suggest } from "./locate.js";
import { Bootstrap, DiskOutput, Distro, Layer, Recipe, Step, TestCheck, Tests } from "./schema.js";
import { substitute, type VarProblem, type Vars } from "./vars.js";
import { verifyRecipe } from "./verify.js";

/** A checked recipe. Immutable: build state lives in the build context, never here. */
export interface LoadedRecipe {
  readonly file: string;
  readonly dir: string;
  readonly recipe: Readonly<Recipe>;
  readonly vars: Readonly<Vars>;
  /** Layers in build order (parents first). */
  readonly layers: readonly ResolvedLayer[];
}

export interface LoadOptions {
  /** `--set name=value` overrides of `vars`. */
  set?: Vars;
}

/** `strata.yaml` inside a directory, or the file itself. */
export function recipePath(pathOrDir: string): string {
  const p = resolve(pathOrDir);
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(p);
  } catch {
    throw new StrataError("E_RECIPE_NOT_FOUND", `no recipe at ${p}`, {
      hint: "pass a recipe file or a directory that holds strata.yaml",
    });
  }
  if (!st.isDirectory()) return p;
  const file = join(p, "strata.yaml");
  try {
    statSync(file);
  } catch {
    throw new StrataError("E_RECIPE_NOT_FOUND", `${p} has no strata.yaml`, {
      hint: "pass a recipe file or a directory that holds strata.yaml",
    });
  }
  return file;
}

/** The keys allowed in the object at `path`, for "did you mean" hints. */
function knownKeys(path: FieldPath): string[] {
  const shape = (s: { shape: Record<string, unknown> }) => Object.keys(s.shape);
  const p = path.map((x) => (typeof x === "number" ? "#" : String(x))).join("/");
  const table: [RegExp, string[]][] = [
    [/^$/, shape(Recipe)],
    [/^distro$/, shape(Distro)],
    [/^layers\/#$/, shape(Layer)],
    [/^layers\/#\/bootstrap$/, shape(Bootstrap)],
    [/^layers\/#\/steps\/#$/, shape(Step)],
    // Each step's objects, from its own schema: layers/#/steps/#/copy, .../users/#...
    ...stepObjectKeys().map(([at, keys]): [RegExp, string[]] => [
      new RegExp(`^layers/#/steps/#/${at}$`),
      keys,
    ]),
    [/^outputs\/#$/, [...new Set([...shape(DiskOutput), "compression"])]],
    [/^tests$/, shape(Tests)],
    [/^tests\/checks\/#$/, shape(TestCheck)],
  ];
  return table.find(([re]) => re.test(p))?.[1] ?? [];
}

function valueAt(data: unknown, path: FieldPath): unknown {
  let cur = data;
  for (const key of path) cur = (cur as Record<PropertyKey, unknown> | undefined)?.[key];
  return cur;
}

function schemaProblems(
  issues: z.core.$ZodIssue[],
  data: unknown,
): {
  path: FieldPath;
  message: string;
  hint?: string;
  key?: string;
}[] {
  const out: { path: FieldPath; message: string; hint?: string; key?: string }[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      const known = knownKeys(issue.path);
      for (const key of issue.keys) {
        const s = suggest(key, known);
        out.push({
          path: [...issue.path, key],
          key,
          message: `unknown key '${key}'`,
          hint: s
            ? `did you mean '${s}'?`
            : known.length
              ? `allowed: ${known.join(", ")}`
              : undefined,
        });
      }
      continue;
    }
    if (
      issue.code === "invalid_union" &&
      "note" in issue &&
      issue.note === "No matching discriminator"
    ) {
      const options = (issue as unknown as { options?: unknown[] }).options ?? [];
      out.push({
        path: issue.path,
        message: "unknown output type",
        hint: `one of: ${options.join(", ")}`,
      });
      continue;
    }
    if (issue.code === "invalid_value" && "values" in issue) {
      const allowed = issue.values.map(String);
      const value = valueAt(data, issue.path);
      const s = typeof value === "string" ? suggest(value, allowed) : undefined;
      out.push({
        path: issue.path,
        message: `'${String(value)}' is not allowed here`,
        hint: `${s ? `did you mean '${s}'? ` : ""}one of: ${allowed.join(", ")}`,
      });
      continue;
    }
    out.push({ path: issue.path, message: issue.message });
  }
  return out;
}

export function loadRecipe(pathOrDir: string, options: LoadOptions = {}): LoadedRecipe {
  const file = recipePath(pathOrDir);
  const dir = dirname(file);
  const source = readFileSync(file, "utf8");
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });

  if (doc.errors.length > 0) {
    const problems: RecipeProblem[] = doc.errors.map((e) => {
      const { line, col } = lines.linePos(e.pos[0]);
      return { file, line, column: col, path: "", message: e.message.split("\n")[0] ?? e.message };
    });
    throw new StrataError("E_RECIPE_YAML", `${file} is not valid YAML`, {
      problems,
      hint: "fix the YAML syntax first",
    });
  }

  const problems: RecipeProblem[] = [];
  const at = (p: { path: FieldPath; message: string; hint?: string; key?: string }) => {
    const pos = locate(doc, lines, p.key !== undefined ? p.path.slice(0, -1) : p.path, {
      key: p.key,
    });
    problems.push({ file, ...pos, path: formatPath(p.path), message: p.message, hint: p.hint });
  };

  const raw = doc.toJS() as unknown;
  const rawVars = (raw as { vars?: Record<string, unknown> } | null)?.vars ?? {};
  const vars: Vars = {};
  if (rawVars && typeof rawVars === "object") {
    for (const [k, v] of Object.entries(rawVars)) vars[k] = String(v);
  }
  for (const [k, v] of Object.entries(options.set ?? {})) {
    if (!(k in vars)) {
      const s = suggest(k, Object.keys(vars));
      throw new StrataError("E_USAGE", `--set ${k}: the recipe declares no variable '${k}'`, {
        hint: s ? `did you mean '${s}'?` : `declare it under vars in ${file}`,
      });
    }
    vars[k] = v;
  }

  const varProblems: VarProblem[] = [];
  const substituted = substitute(raw, vars, varProblems);
  for (const vp of varProblems) {
    const s = suggest(vp.name, Object.keys(vars));
    at({
      path: vp.path,
      message: `unknown variable '\${${vp.name}}'`,
      hint: s
        ? `did you mean '${s}'?`
        : "declare it under vars, or write $${...} for a literal ${...}",
    });
  }

  const parsed = Recipe.safeParse(substituted);
  if (!parsed.success) {
    for (const p of schemaProblems(parsed.error.issues, substituted)) at(p);
  } else {
    for (const p of verifyRecipe(parsed.data, dir, vars)) at(p);
  }
  if (problems.length > 0 || !parsed.success) {
    problems.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new StrataError(
      "E_RECIPE_INVALID",
      `${file}: ${problems.length} problem${problems.length === 1 ? "" : "s"}`,
      { problems, hint: "see `strata validate --help` and the recipe reference in README.md" },
    );
  }

  const recipe = parsed.data;
  return deepFreeze({ file, dir, recipe, vars, layers: resolveLayers(recipe, vars) });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
