/**
 * Stages: named, reusable fragments of a layer (pi-builder's idea), each expanding to ordinary
 * steps from the recipe's vars. `stages: [hostname, timezone]` reads `vars.hostname` and
 * `vars.timezone`. They live with the recipe, not the steps: a stage is recipe text written for
 * the user, and what it expands to is checked like a written step (schema and the step's own
 * checks), with problems reported at the stage.
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
import { suggest } from "./locate.js";
import { Step, STEP_KINDS } from "./schema.js";
import type { Vars } from "./vars.js";
import type { SemanticProblem } from "./verify.js";

interface Stage {
  needs: string[];
  optional?: Record<string, string>;
  expand(vars: Vars): Step[];
}

const v = (vars: Vars, key: string): string => vars[key] ?? "";

export const STAGES: Record<string, Stage> = {
  hostname: { needs: ["hostname"], expand: (vars) => [{ hostname: v(vars, "hostname") }] },
  timezone: { needs: ["timezone"], expand: (vars) => [{ timezone: v(vars, "timezone") }] },
  locale: { needs: ["locale"], expand: (vars) => [{ locale: v(vars, "locale") }] },
  "serial-console": {
    needs: [],
    optional: { serial_console: "ttyS0" },
    expand: (vars) => [
      { services: { enable: [`serial-getty@${vars.serial_console ?? "ttyS0"}.service`] } },
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

type StageProblem = Omit<SemanticProblem, "path">;

/** Everything wrong with one entry of a layer's `stages`; the caller adds its position. */
export function stageProblems(stage: string, env: VerifyEnv): StageProblem[] {
  const def = STAGES[stage];
  if (!def) {
    const s = suggest(stage, STAGE_NAMES);
    return [
      {
        message: `unknown stage '${stage}'`,
        hint: s ? `did you mean '${s}'?` : `stages are: ${STAGE_NAMES.join(", ")}`,
      },
    ];
  }
  const missing = def.needs.filter((need) => !env.vars[need]);
  if (missing.length > 0) {
    return missing.map((need) => ({
      message: `stage '${stage}' needs the variable '${need}'`,
      hint: `add \`${need}: ...\` under vars, or pass --set ${need}=...`,
    }));
  }
  const reads = [...def.needs, ...Object.keys(def.optional ?? {})];
  const hint = reads.length
    ? `check the variable${reads.length > 1 ? "s" : ""} it reads: ${reads.join(", ")}`
    : undefined;
  return def.expand(env.vars).flatMap((step) => expandedStepProblems(stage, step, env, hint));
}

/** A step a stage made, checked as if it had been written out under `steps`. */
function expandedStepProblems(
  stage: string,
  step: Step,
  env: VerifyEnv,
  hint: string | undefined,
): StageProblem[] {
  const parsed = Step.safeParse(step);
  const what = (detail: string) => `stage '${stage}' makes an invalid step: ${detail}`;
  if (!parsed.success) {
    return parsed.error.issues.map((issue) => {
      let value: unknown = step;
      for (const key of issue.path) value = (value as Record<PropertyKey, unknown>)?.[key];
      const got = typeof value === "string" ? ` (got '${value}')` : "";
      const where = issue.path.map(String).join(".");
      return { message: what(`${where}: ${issue.message}${got}`), hint };
    });
  }
  const kind = STEP_KINDS.find((k) => parsed.data[k] !== undefined);
  if (!kind) return [];
  return verifyStep(kind, parsed.data, env).map((p) => ({ ...p, message: what(p.message) }));
}
