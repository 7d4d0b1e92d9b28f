/**
 * `strata test RECIPE`: build the recipe (cached), pick its disk output and test the image in a
 * VM (testing/test-image.ts: boot, log in, run `tests.checks`, write the reports). A failed
 * check is a result, not an exception; only the CLI turns it into an exit code.
 */
import { build } from "../build/build.js";
import type { BuildOptions } from "../build/context.js";
import { StrataError } from "../errors.js";
import { defaultReporter } from "../progress.js";
import { type LoadedRecipe, loadRecipe } from "../recipe/load.js";
import type { TestResult } from "../testing/report.js";
import { testImage } from "../testing/test-image.js";
import type { Accel } from "../vm/argv.js";
import { builtImage, pickDiskOutput } from "./disk-output.js";
import { readDiskImage } from "../vm/image.js";

export type { CheckResult, TestResult } from "../testing/report.js";
export { formatTestSummary } from "../testing/report.js";

export interface TestOptions extends BuildOptions {
  /** The disk output to boot (default: tests.output, else the first disk output). */
  output?: string;
  junit?: string;
  report?: string;
  consoleLog?: string;
  accel?: Accel;
}

/** Builds the recipe (cached) and tests its disk output; see testImage. */
export async function testRecipe(
  recipeOrPath: LoadedRecipe | string,
  options: TestOptions = {},
): Promise<TestResult> {
  const recipe =
    typeof recipeOrPath === "string"
      ? loadRecipe(recipeOrPath, { set: options.set })
      : recipeOrPath;
  const tests = recipe.recipe.tests;
  if (!tests) {
    throw new StrataError("E_USAGE", `recipe '${recipe.recipe.name}' has no tests`, {
      hint: "add a tests: section, e.g. tests: { checks: [{ name: boots, run: 'systemctl is-system-running --wait', output: running }] }",
    });
  }
  const choice = pickDiskOutput(recipe, options.output ?? tests.output);
  const reporter = options.reporter ?? defaultReporter(process.stderr, options.verbose);
  const result = await build(recipe, { ...options, reporter });
  const image = readDiskImage(builtImage(result, choice));
  return testImage(image, tests, {
    name: recipe.recipe.name,
    junit: options.junit,
    report: options.report,
    consoleLog: options.consoleLog,
    accel: options.accel,
    reporter,
  });
}
