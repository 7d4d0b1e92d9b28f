/**
 * What a step is. Each `src/steps/<kind>.ts` exports one `StepDefinition`: everything about
 * its kind lives in that file (schema, docs, label, checks, cache input, run), and the recipe
 * schema, the checks, the cache keys and the build all reach it through the registry
 * (`./index.ts`). Adding a step means adding one file and one line there.
 */
import type { z } from "zod";
import type { ResolvedDistro } from "../build/context.js";
import type { PlannedStep } from "../recipe/graph.js";
import type { SemanticProblem } from "../recipe/verify.js";
import type { Vars } from "../recipe/vars.js";

export interface ShOptions {
  env?: Record<string, string>;
  /** Files to put beside the script, visible under /run/strata/ in the root. */
  files?: Record<string, string | Buffer>;
  /**
   * The host's network for this script (a `run` step's `network: true`); without it the
   * script runs in an empty network namespace.
   */
  network?: boolean;
}

/** What a step's `run` gets: a way to run shell inside the layer's root, and apt. */
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

/** What `verify` may look at: the recipe's directory and its vars (no host, no network). */
export interface VerifyEnv {
  readonly dir: string;
  readonly vars: Readonly<Vars>;
}

/** What `cacheInput` may look at. */
export interface CacheEnv {
  readonly recipeDir: string;
}

export interface StepDefinition<K extends string = string, S extends z.ZodType = z.ZodType> {
  /** The step's key in a recipe: `- copy: {...}`. */
  readonly kind: K;
  /** The step's value; `.describe()` texts end up in the JSON Schema for editors. */
  readonly schema: S;
  /** One line for the README's table of steps (the file's header is the full story). */
  readonly doc: string;
  /** Short label text for progress and errors, e.g. the copy's destination. */
  describe(value: z.output<S>): string;
  /** Checks beyond the schema; paths are relative to the step, e.g. `["copy", "from"]`. */
  verify?(value: z.output<S>, env: VerifyEnv): SemanticProblem[];
  /** What the layer's cache key covers instead of the raw value (copy adds its content). */
  cacheInput?(value: z.output<S>, env: CacheEnv): Promise<unknown>;
  run(ctx: StepContext, value: z.output<S>): Promise<void>;
}

/** Types a definition and keeps its literal kind and exact schema type. */
export function defineStep<const K extends string, S extends z.ZodType>(
  def: StepDefinition<K, S>,
): StepDefinition<K, S> {
  return def;
}
