/** strata as a library: everything the CLI does. */
export { type BuildResult, build, type LayerResult, type OutputResult } from "./build/build.js";
export type { BuildOptions } from "./build/context.js";
export { type CacheItem, cacheGc, cacheList, type GcResult } from "./commands/cache.js";
export { type DoctorReport, doctor } from "./commands/doctor.js";
export { type PlanResult, planRecipe } from "./commands/plan.js";
export { type RunOptions, runImage } from "./commands/run.js";
export { shell } from "./commands/shell.js";
export { type TestOptions, testRecipe } from "./commands/test.js";
export { type ValidateResult, validate } from "./commands/validate.js";
export { type ErrorCode, formatProblem, type RecipeProblem, StrataError } from "./errors.js";
export { OUTPUTS } from "./outputs/index.js";
export type { OutputInput, OutputPlugin, StackView } from "./outputs/types.js";
export { type BuildPlan, type PlannedLayer, type PlannedOutput, plan } from "./plan/plan.js";
export { lineReporter, type Reporter, silentReporter, terminalReporter } from "./progress.js";
export { type LoadedRecipe, loadRecipe } from "./recipe/load.js";
export { Recipe } from "./recipe/schema.js";
export { BuildReport, renderReportHtml, writeReport } from "./report/index.js";
export { type CheckResult, formatTestSummary, type TestResult } from "./testing/report.js";
export { type TestImageOptions, testImage } from "./testing/test-image.js";
export { type AccelChoice, chooseAccel, probeKvm } from "./vm/accel.js";
export {
  type Accel,
  type Firmware,
  qemuArgv,
  type SerialConfig,
  type VmArch,
  type VmConfig,
} from "./vm/argv.js";
export { findFirmware, prepareFirmware } from "./vm/firmware.js";
export { type DiskImage, readDiskImage } from "./vm/image.js";
export { type BootOptions, bootMachine, type ExecResult, Machine } from "./vm/machine.js";
