/**
 * Stages: named, reusable fragments of a layer (pi-builder's idea), each expanding to ordinary
 * steps from the recipe's vars. `stages: [hostname, timezone]` reads `vars.hostname` and
 * `vars.timezone`. They live with the recipe, not the steps: a stage is recipe text written for
 * the user, and what it expands to is checked like a written step (schema and the step's own
 * checks). A bad value is reported where it was written: at the var under `vars` (naming the
 * stage that used it), or at the stage when it came from `--set`. Vars are read as own names
 * only (./vars.ts).
 *
 * | stage          | needs vars                 | does                                           |
 * |----------------|----------------------------|------------------------------------------------|
 * | hostname       | hostname                   | /etc/hostname and /etc/hosts                   |
 * | timezone       | timezone                   | /etc/localtime, /etc/timezone (installs tzdata)|
 * | locale         | locale                     | generates and selects it (installs locales)    |
 * | serial-console | serial_console (ttyS0)     | a getty on the serial console                  |
 * | ssh-keys       | ssh_authorized_keys        | root's authorized_keys (one key per line)      |
 * | cleanup        | –                          | drops docs, man pages and apt's caches         |
 */
import { verifyStep } from "../steps/index.js";
import type { VerifyEnv } from "../steps/types.js";
import { type FieldPath, formatPath, suggest } from "./locate.js";
import { Step, STEP_KINDS } from "./schema.js";
import { type VarMap, varMap } from "./vars.js";
import type { SemanticProblem } from "./verify.js";

interface Stage {
  needs: string[];
  optional?: Record<string, string>;
  /** The stage's steps, as written (the schema parses them). */
  expand(vars: VarMap): unknown[];
}

const v = (vars: VarMap, key: string): string => vars.get(key) ?? "";

export const STAGES: Readonly<Record<string, Stage>> = {
  hostname: { needs: ["hostname"], expand: (vars) => [{ hostname: v(vars, "hostname") }] },
  timezone: { needs: ["timezone"], expand: (vars) => [{ timezone: v(vars, "timezone") }] },
  locale: { needs: ["locale"], expand: (vars) => [{ locale: v(vars, "locale") }] },
  "serial-console": {
    needs: [],
    optional: { serial_console: "ttyS0" },
    expand: (vars) => [
      { services: { enable: [`serial-getty@${vars.get("serial_console") ?? "ttyS0"}.service`] } },
    ],
  },
  "ssh-keys": {
    needs: ["ssh_authorized_keys"],
    expand: (vars) => [
      {
        users: [
          {
            name: "root",
            ssh_authorized_keys: v(vars, "ssh_authorized_keys")
              .split("\n")
              .map((k) => k.trim())
              .filter((k) => k !== ""),
          },
        ],
      },
    ],
  },
  cleanup: {
    needs: [],
    expand: () => [
      {
        run: {
          name: "cleanup",
          script:
            "apt-get clean\nrm -rf /usr/share/doc/* /usr/share/man/* /usr/share/info/* /var/lib/apt/lists/*\n",
        },
      },
    ],
  },
};

export const STAGE_NAMES = Object.keys(STAGES);

/** The stage called `name`, only if it is one (never a property of every object). */
export function stageOf(name: string): Stage | undefined {
  return Object.hasOwn(STAGES, name) ? STAGES[name] : undefined;
}

/** The steps of a stage, parsed (the recipe has been checked: they are valid). */
export function expandStage(name: string, vars: VarMap): Step[] {
  return (stageOf(name)?.expand(vars) ?? []).map((step) => Step.parse(step));
}

/** Where a stage entry sits and where its vars came from, to report a bad value at its source. */
export interface StageOrigin {
  /** The stage entry, e.g. `["layers", 1, "stages", 0]`. */
  at: FieldPath;
  /** Vars whose value came from `--set` (they have no place in the file). */
  fromSet: ReadonlySet<string>;
}

/**
 * Everything wrong with one entry of a layer's `stages`. Without `origin`, paths are left
 * out (the caller adds its position); with it, a bad value is reported at the var that gave it.
 */
export function stageProblems(
  stage: string,
  env: VerifyEnv,
  origin?: StageOrigin,
): (Omit<SemanticProblem, "path"> & { path?: FieldPath })[] {
  const def = stageOf(stage);
  const vars = varMap(env.vars);
  if (!def) {
    const s = suggest(stage, STAGE_NAMES);
    return [
      {
        message: `unknown stage '${stage}'`,
        hint: s ? `did you mean '${s}'?` : `stages are: ${STAGE_NAMES.join(", ")}`,
      },
    ];
  }
  const missing = def.needs.filter((need) => !vars.get(need));
  if (missing.length > 0) {
    return missing.map((need) => ({
      message: `stage '${stage}' needs the variable '${need}'`,
      hint: `add \`${need}: ...\` under vars, or pass --set ${need}=...`,
    }));
  }
  const reads = [...def.needs, ...Object.keys(def.optional ?? {})];
  const given = reads.filter((name) => vars.has(name));
  // Every stage reads at most one var today; the value at fault is that var's.
  const source = given.length === 1 ? (given[0] as string) : undefined;
  const used = origin ? ` (used by stage '${stage}' at ${formatPath(origin.at)})` : "";
  let at: FieldPath | undefined;
  let from = "";
  let hint = reads.length ? `check the variables it reads: ${reads.join(", ")}` : undefined;
  if (source !== undefined && origin?.fromSet.has(source)) {
    from = ` from --set ${source}`;
    hint = `check --set ${source}=...`;
  } else if (source !== undefined) {
    from = ` from vars.${source}`;
    hint = `check the variable ${source}`;
    if (origin) at = ["vars", source];
  }
  return def
    .expand(vars)
    .flatMap((step) => expandedStepProblems(step, env))
    .map((detail) => ({
      ...(at ? { path: at } : {}),
      message: `stage '${stage}' makes an invalid step${from}: ${detail}${used}`,
      hint,
    }));
}

/** A value in a message: quoted, and escaped when it holds control characters. */
const shown = (value: string) =>
  /[\x00-\x1f\x7f]/.test(value) ? JSON.stringify(value) : `'${value}'`;

/** A step a stage made, checked as if it had been written out under `steps`: its problems. */
function expandedStepProblems(step: unknown, env: VerifyEnv): string[] {
  const parsed = Step.safeParse(step);
  if (!parsed.success) {
    return parsed.error.issues.map((issue) => {
      let value: unknown = step;
      for (const key of issue.path) value = (value as Record<PropertyKey, unknown>)?.[key];
      const got = typeof value === "string" ? ` (got ${shown(value)})` : "";
      const where = issue.path.map(String).join(".");
      return `${where}: ${issue.message}${got}`;
    });
  }
  const kind = STEP_KINDS.find((k) => parsed.data[k] !== undefined);
  if (!kind) return [];
  return verifyStep(kind, parsed.data, env).map((p) => p.message);
}
