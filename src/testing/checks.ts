/**
 * Judging one `tests.checks[]` entry from what its command returned: the exit status, the
 * regular expressions its output must match (`output`) and must not match (`not_output`),
 * with flag "m" so ^ and $ work per line. Pure; the failure messages are what the summary and
 * the reports show.
 */
import { StrataError } from "../errors.js";
import type { TestCheck } from "../recipe/schema.js";

export interface CheckOutcome {
  status: number;
  output: string;
}

const list = (v: string | string[] | undefined): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];

function compile(source: string, where: string): RegExp {
  try {
    return new RegExp(source, "m");
  } catch (e) {
    throw new StrataError(
      "E_RECIPE_INVALID",
      `${where}: not a regular expression: ${(e as Error).message}`,
      { hint: "checks use JavaScript regular expressions; escape ( [ { . * + ? with \\" },
    );
  }
}

/** Compiles every pattern of every check, so a bad one fails before anything boots. */
export function compileChecks(checks: readonly TestCheck[]): void {
  checks.forEach((c, i) => {
    list(c.output).forEach((p, j) => compile(p, `tests.checks[${i}].output[${j}]`));
    list(c.not_output).forEach((p, j) => compile(p, `tests.checks[${i}].not_output[${j}]`));
  });
}

/** The reasons `check` failed (empty: it passed). */
export function evaluateCheck(check: TestCheck, outcome: CheckOutcome): string[] {
  const failures: string[] = [];
  if (outcome.status !== check.status) {
    failures.push(`expected status ${check.status}, got ${outcome.status}`);
  }
  for (const source of list(check.output)) {
    if (!compile(source, check.name).test(outcome.output)) {
      failures.push(`output did not match /${source}/`);
    }
  }
  for (const source of list(check.not_output)) {
    if (compile(source, check.name).test(outcome.output)) {
      failures.push(`output matched /${source}/, which it must not`);
    }
  }
  return failures;
}
