/**
 * `packages: [name, name=version, ...]` installs Debian packages with apt-get from the
 * distro's mirror. Recommends are left out unless `distro.recommends: true`. Downloads go to
 * the shared apt cache, so no .deb is fetched twice across layers or builds.
 * A layer's top-level `packages:` is the same step, run first.
 */
import type { StepHandler } from "./types.js";

export const packagesStep: StepHandler<"packages"> = {
  kind: "packages",
  run: (ctx, packages) => ctx.aptInstall(packages),
};
