/**
 * `remove: [name, ...]` purges packages, and the dependencies nothing else needs any more
 * (`apt-get purge --auto-remove`). What lower layers installed is hidden in this layer by
 * overlayfs whiteouts, so the layer below stays untouched.
 */
import { z } from "zod";
import { packageName } from "./fields.js";
import { defineStep } from "./types.js";

export const removeStep = defineStep({
  kind: "remove",
  schema: z.array(packageName).min(1).describe("apt-get purge these"),
  doc: "`apt-get purge --auto-remove`",
  describe: (packages) => packages.join(" "),
  run: (ctx, packages) => ctx.aptRemove(packages),
});
