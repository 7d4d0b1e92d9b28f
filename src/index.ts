/** strata as a library: everything the CLI does. */
export { type BuildResult, build, type LayerResult } from "./build/build.js";
export type { BuildOptions } from "./build/context.js";
export { type CacheItem, cacheGc, cacheList, type GcResult } from "./commands/cache.js";
export { type DoctorReport, doctor } from "./commands/doctor.js";
export { shell } from "./commands/shell.js";
export { type ValidateResult, validate } from "./commands/validate.js";
export { type ErrorCode, formatProblem, type RecipeProblem, StrataError } from "./errors.js";
export { lineReporter, type Reporter, silentReporter, terminalReporter } from "./progress.js";
export { type LoadedRecipe, loadRecipe } from "./recipe/load.js";
export { Recipe } from "./recipe/schema.js";
