/**
 * `remove: [name, ...]` purges packages, and the dependencies nothing else needs any more
 * (`apt-get purge --auto-remove`). What lower layers installed is hidden in this layer by
 * overlayfs whiteouts, so the layer below stays untouched.
 */
import type { StepHandler } from "./types.js";

export const removeStep: StepHandler<"remove"> = {
  kind: "remove",
  run: (ctx, packages) => ctx.aptRemove(packages),
};
