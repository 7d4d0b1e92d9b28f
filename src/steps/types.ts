/** What a step implementation gets: a way to run shell inside the layer's root, and apt. */
import type { ResolvedDistro } from "../build/context.js";
import type { PlannedStep } from "../recipe/graph.js";
import type { Step, StepKind } from "../recipe/schema.js";

export interface ShOptions {
  env?: Record<string, string>;
  /** Files to put beside the script, visible under /run/strata/ in the root. */
  files?: Record<string, string | Buffer>;
}

export interface StepContext {
  readonly step: PlannedStep;
  readonly distro: ResolvedDistro;
  readonly recipeDir: string;
  /** Runs a POSIX shell script (set -e) in the root; a failure fails the step. */
  sh(script: string, options?: ShOptions): Promise<string>;
  /** Copies a host file or tree into the step's inputs; returns its path inside the root. */
  stageCopy(hostPath: string, name: string): Promise<string>;
  /** `apt-get install` (lists are refreshed once per build). */
  aptInstall(packages: readonly string[]): Promise<void>;
  aptRemove(packages: readonly string[]): Promise<void>;
}

export interface StepHandler<K extends StepKind = StepKind> {
  kind: K;
  run(ctx: StepContext, value: NonNullable<Step[K]>): Promise<void>;
}

/** Quotes a value for POSIX sh. */
export const q = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;
