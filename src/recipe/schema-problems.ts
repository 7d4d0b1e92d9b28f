/**
 * The schema's complaints as recipe problems: "did you mean" for unknown keys and values, the
 * one option of a union that the value's type picks (not zod's "Invalid input"), plain words for
 * numbers YAML reads as infinity and for a value of none of a union's types.
 */
import type { z } from "zod";
import { stepObjectKeys } from "../steps/index.js";
import { type FieldPath, suggest } from "./locate.js";
import {
  DebianBootstrap,
  DiskOutput,
  OciBootstrap,
  Distro,
  Layer,
  Recipe,
  Step,
  TestCheck,
  Tests,
} from "./schema.js";

export interface SchemaProblem {
  path: FieldPath;
  message: string;
  hint?: string;
  /** Point at this key of the map at `path` rather than at its value. */
  key?: string;
}

/** The keys allowed in the object at `path`, for "did you mean" hints. */
function knownKeys(path: FieldPath): string[] {
  const shape = (s: { shape: Record<string, unknown> }) => Object.keys(s.shape);
  const p = path.map((x) => (typeof x === "number" ? "#" : String(x))).join("/");
  const table: [RegExp, string[]][] = [
    [/^$/, shape(Recipe)],
    [/^distro$/, shape(Distro)],
    [/^layers\/#$/, shape(Layer)],
    [/^layers\/#\/bootstrap$/, [...shape(DebianBootstrap), ...shape(OciBootstrap)]],
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

/** Every issue of a failed parse of `data`, as problems with paths into it. */
export function schemaProblems(issues: z.core.$ZodIssue[], data: unknown): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  for (const issue of issues.flatMap(unionBranch)) {
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
    if (issue.code === "invalid_key") {
      const key = String(issue.path.at(-1));
      const why = issue.issues.map((i) => i.message).join("; ");
      out.push({ path: issue.path, key, message: `key '${key}': ${why}` });
      continue;
    }
    out.push({ path: issue.path, ...plainer(issue, valueAt(data, issue.path)) });
  }
  return out;
}

/**
 * A union's issue as the issues of the one option whose type the value has (a `run` object
 * with a bad env key is about that key, not "Invalid input"); other issues as they are.
 */
function unionBranch(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== "invalid_union") return [issue];
  const otherType = (branch: z.core.$ZodIssue[]) =>
    branch.length === 1 &&
    branch[0]?.path.length === 0 &&
    (branch[0].code === "invalid_type" || branch[0].code === "invalid_value");
  let typed = issue.errors.filter((branch) => !otherType(branch));
  // Of two object shapes (the two kinds of bootstrap), the one that knows the value's keys.
  const unknownKeys = (branch: z.core.$ZodIssue[]) =>
    branch
      .filter((i) => i.code === "unrecognized_keys" && i.path.length === 0)
      .reduce((n, i) => n + (i as { keys: string[] }).keys.length, 0);
  const fewest = Math.min(...typed.map(unknownKeys));
  if (typed.length > 1) typed = typed.filter((b) => unknownKeys(b) === fewest);
  if (typed.length !== 1) return [issue];
  return (typed[0] ?? []).flatMap((sub) =>
    unionBranch({ ...sub, path: [...issue.path, ...sub.path] }),
  );
}

/** zod's words where they say little: an infinite number, a value of none of a union's types. */
function plainer(issue: z.core.$ZodIssue, value: unknown): { message: string; hint?: string } {
  if (issue.path.length === 0 && value == null) {
    return { message: "the recipe is empty", hint: "a recipe needs at least `name` and `layers`" };
  }
  if (typeof value === "number" && !Number.isFinite(value)) {
    return {
      message: Number.isNaN(value)
        ? "not a number"
        : "this number is too large (YAML reads it as infinity)",
      hint: "write a number within the field's range",
    };
  }
  if (issue.code === "invalid_union" && issue.path.at(-1) === "bootstrap") {
    return {
      message:
        "a bootstrap is an OCI image (`oci`) or mmdebstrap's (`variant`, `packages`), not both",
      hint: "keep `oci: IMAGE` alone, or drop it; packages on an image go in the layer's `packages`",
    };
  }
  if (issue.code === "invalid_union" && issue.errors.length > 0) {
    const expected = issue.errors.map((branch) => {
      const only = branch.length === 1 ? branch[0] : undefined;
      if (only?.code === "invalid_type") return only.expected as string;
      if (only?.code === "invalid_value")
        return only.values.map((v) => JSON.stringify(v)).join(" or ");
      return undefined;
    });
    if (expected.every((e) => e !== undefined)) {
      const words = [...new Set(expected.map((e) => (e === "int" ? "a whole number" : e)))];
      const got =
        typeof value === "number" ? String(value) : value === null ? "null" : typeof value;
      return { message: `expected ${words.join(" or ")}, got ${got}` };
    }
  }
  return { message: issue.message };
}
