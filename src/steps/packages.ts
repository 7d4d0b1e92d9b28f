/**
 * `packages: [name, name=version, ...]` installs Debian packages with apt-get from the
 * distro's mirror. Recommends are left out unless `distro.recommends: true`. Downloads go to
 * the shared apt cache, so no .deb is fetched twice across layers or builds.
 * A layer's top-level `packages:` is the same step, run first.
 */
import { z } from "zod";
import { packageName } from "./fields.js";
import { defineStep } from "./types.js";

export const packagesStep = defineStep({
  kind: "packages",
  schema: z.array(packageName).min(1).describe("apt-get install these"),
  doc: "`apt-get install` (no Recommends unless `distro.recommends`)",
  describe: (packages) => packages.join(" "),
  run: (ctx, packages) => ctx.aptInstall(packages),
});
