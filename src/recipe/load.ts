/**
 * Loading a recipe: read the YAML (./read.ts), substitute vars, check it against the schema and
 * then semantically, and report every problem at once with file, line, column, field path and
 * a hint. Nothing is built, downloaded or written here.
 */
import { dirname } from "node:path";
import { type RecipeProblem, StrataError } from "../errors.js";
import { type ResolvedLayer, resolveLayers } from "./graph.js";
import { type FieldPath, formatPath, locate, suggest } from "./locate.js";
import { readRecipeFile, recipePath } from "./read.js";
import { salvageRecipe } from "./salvage.js";
import { Recipe } from "./schema.js";
import { schemaProblems } from "./schema-problems.js";
import { substitute, type VarProblem, type Vars } from "./vars.js";
import { verifyRecipe } from "./verify.js";

export { recipePath };

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

/** The recipe's own vars, then `--set` (which may only change a declared one). */
function recipeVars(data: unknown, set: Readonly<Vars>, file: string): Map<string, string> {
  const vars = new Map<string, string>();
  const declared = (data as { vars?: unknown } | null)?.vars;
  if (declared && typeof declared === "object" && !Array.isArray(declared)) {
    for (const [k, v] of Object.entries(declared)) {
      if (["string", "number", "boolean"].includes(typeof v)) vars.set(k, String(v));
    }
  }
  for (const [k, v] of Object.entries(set)) {
    if (!vars.has(k)) {
      const s = suggest(k, [...vars.keys()]);
      throw new StrataError("E_USAGE", `--set ${k}: the recipe declares no variable '${k}'`, {
        hint: s ? `did you mean '${s}'?` : `declare it under vars in ${file}`,
      });
    }
    vars.set(k, v);
  }
  return vars;
}

/** Whether `path` is `under` or inside it. */
const isUnder = (path: FieldPath, under: FieldPath) =>
  under.length <= path.length && under.every((part, i) => part === path[i]);

export function loadRecipe(pathOrDir: string, options: LoadOptions = {}): LoadedRecipe {
  const file = recipePath(pathOrDir);
  const dir = dirname(file);
  const { doc, lines, data: raw } = readRecipeFile(file);

  const problems: RecipeProblem[] = [];
  const at = (p: { path: FieldPath; message: string; hint?: string; key?: string }) => {
    const pos = locate(doc, lines, p.key !== undefined ? p.path.slice(0, -1) : p.path, {
      key: p.key,
    });
    problems.push({ file, ...pos, path: formatPath(p.path), message: p.message, hint: p.hint });
  };

  const set = options.set ?? {};
  const vars = recipeVars(raw, set, file);

  const varProblems: VarProblem[] = [];
  const substituted = substitute(raw, vars, varProblems);
  for (const vp of varProblems) at(vp);

  // The semantic checks run on whatever passed the schema, so both kinds are reported at once;
  // where the schema has already spoken, its problem is the one reported.
  const parsed = Recipe.safeParse(substituted);
  const schemaPaths: FieldPath[] = [];
  if (!parsed.success) {
    for (const p of schemaProblems(parsed.error.issues, substituted)) {
      at(p);
      schemaPaths.push(p.path);
    }
  }
  const checked = parsed.success ? parsed.data : salvageRecipe(substituted);
  const fromSet = new Set(Object.keys(set));
  for (const p of verifyRecipe(checked, dir, Object.fromEntries(vars), { fromSet })) {
    if (!schemaPaths.some((s) => isUnder(p.path, s))) at(p);
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
  const values: Vars = Object.fromEntries(vars);
  return deepFreeze({ file, dir, recipe, vars: values, layers: resolveLayers(recipe, values) });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
