/**
 * The output plugin interface (linuxkit's idea: outputs are a registry keyed by type, all fed
 * the same input). An output is one folder under src/outputs/ with its own options schema,
 * its own checks (run in the verify pass, before anything is built), the host tools it needs,
 * any layers it adds to the build plan (a disk's boot layer), and `write`. `write` never sees
 * the build context: it gets a read-only view of its stacked layers and a narrow environment.
 */
import type { z } from "zod";
import type { ResolvedDistro } from "../build/context.js";
import type { PackageRef } from "../cache/store.js";
import type { RunOptions, RunResult } from "../host/run.js";
import type { ToolName } from "../host/tools.js";
import type { Reporter } from "../progress.js";
import type { ResolvedLayer } from "../recipe/graph.js";
import type { SemanticProblem } from "../recipe/verify.js";
import type { Recipe } from "../recipe/schema.js";

/** One layer of a stack as an output sees it: its module and what the cache knows of it. */
export interface StackLayer {
  name: string;
  key: string;
  /** Hex sha256 of the module */
  digest: string;
  bytes: number;
  /** The squashfs module (read-only: it is the cache's own file) */
  module: string;
  /** Every package installed once this layer is on the stack */
  packages: readonly PackageRef[];
}

/** The stacked root, mounted read-only for as long as `fn` runs. */
export interface MountedRoot {
  /** A host path that shows the merged tree (for reading files from Node) */
  path: string;
  /** The same tree as a path for commands run with `env.run` */
  nsPath: string;
}

/** A read-only view of a stack of layers, bottom first. */
export interface StackView {
  readonly layers: readonly StackLayer[];
  /** Mounts the stack (read-only overlayfs of its modules) while `fn` runs. */
  withRoot<T>(fn: (root: MountedRoot) => Promise<T>): Promise<T>;
  /**
   * The bottom layer as a plain directory tree that this build bootstrapped and no longer
   * needs (the same files as its module: timestamps, owners, modes, xattrs), given away once:
   * the caller owns it and may rename it into place. Undefined when there is none to give.
   */
  takeBaseTree(): string | undefined;
}

/** What an output may use of the build: no cache, no namespace, no other output. */
export interface OutputEnv {
  readonly recipe: { readonly name: string; readonly dir: string };
  readonly distro: ResolvedDistro;
  /** SOURCE_DATE_EPOCH of the build */
  readonly epoch: number;
  readonly reporter: Reporter;
  /**
   * Signs `file` into `file.sig` with the build's key (`--key`); undefined when it has none.
   * The build refuses to start without one when a netboot output of a recipe with `update:`
   * needs it.
   */
  readonly sign?: (file: string) => Promise<void>;
  /** Runs a command in the build's private mount namespace (where `nsPath`s are valid). */
  run(cmd: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
}

export interface OutputInput<O> {
  readonly output: O;
  /** The output's name: its `name`, else its top layer's name */
  readonly name: string;
  /** Final path to write (file or directory); write elsewhere first, then rename. */
  readonly target: string;
  /** A scratch directory on the same filesystem as `target`, removed afterwards. */
  readonly scratch: string;
  /** The output's layers, bottom first (its top layer and everything below it). */
  readonly stack: StackView;
  /** Stacks of the layers this output added to the plan, by the role it gave them. */
  readonly added: Readonly<Record<string, StackView>>;
  readonly env: OutputEnv;
}

/** A layer an output adds to the build plan, and what must hold before it is built. */
export interface AddedLayer {
  /** How `write` finds its stack in `added` */
  role: string;
  layer: ResolvedLayer;
  /** Checked against the packages of the layer below just before this one is built. */
  precondition?: (below: readonly PackageRef[]) => void;
}

export interface AddLayersContext {
  /** The output's stack, bottom first */
  readonly stack: readonly ResolvedLayer[];
  readonly arch: string;
  /** The output's name */
  readonly name: string;
  /** The whole recipe (its `update`, `health`...) */
  readonly recipe: Recipe;
}

export interface VerifyContext {
  readonly recipe: Recipe;
  /** Position in `outputs` */
  readonly index: number;
}

export interface OutputPlugin<O extends { type: string } = { type: string }> {
  readonly type: O["type"];
  /** The output's options: a zod object with `type: z.literal(...)` */
  readonly schema: z.ZodType<O>;
  /** Host tools it needs, checked before the build starts. */
  tools(output: O): ToolName[];
  /** The file or directory name under the output directory. */
  fileName(output: O, name: string): string;
  /** Problems with its options (paths relative to the output), before anything is built. */
  verify?(output: O, ctx: VerifyContext): SemanticProblem[];
  /** Layers it adds to the plan, each on a layer of its stack (bottom first). */
  layers?(output: O, ctx: AddLayersContext): AddedLayer[];
  write(input: OutputInput<O>): Promise<void>;
}
