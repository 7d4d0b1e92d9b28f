/** What every output type gets: the same stacked layers, and a place to write. */
import type { BuildContext } from "../build/context.js";
import type { CacheEntry } from "../cache/store.js";
import type { ResolvedLayer } from "../recipe/graph.js";
import type { ToolName } from "../host/tools.js";
import type { Output } from "../recipe/schema.js";

export interface OutputInput {
  ctx: BuildContext;
  output: Output;
  /** Module files of the output's stack, bottom first. */
  modules: string[];
  /** Final path to write (file or directory); write elsewhere first, then rename. */
  target: string;
  /** A scratch directory on the same filesystem as `target`. */
  scratch: string;
  /** The same stack with its layers and cache entries, bottom first. */
  stack: { layer: ResolvedLayer; entry: CacheEntry }[];
  /** Builds (or finds in the cache) a layer on top of the stack, e.g. a disk's boot layer. */
  extend(layer: ResolvedLayer): Promise<CacheEntry>;
}

export interface OutputType {
  type: Output["type"];
  /** Host tools the output needs, checked before the build starts. */
  tools: (output: Output) => ToolName[];
  /** The file or directory name under the output directory. */
  fileName: (output: Output, name: string) => string;
  write(input: OutputInput): Promise<void>;
}
