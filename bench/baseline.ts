/**
 * The baseline the build benchmarks divide by: plain mmdebstrap of the same packages into a
 * directory, with the host's apt package cache bound in (as strata shares it), in a private
 * mount namespace.
 */
import { execFileSync } from "node:child_process";
import { type ResolvedDistro, sourcesLines } from "../src/build/context.js";

export function plainMmdebstrap(
  settings: { distro: ResolvedDistro; aptArchives: string },
  packages: readonly string[],
  tree: string,
): void {
  execFileSync(
    "unshare",
    [
      "--mount",
      "--propagation",
      "private",
      "mmdebstrap",
      "--mode=root",
      "--variant=minbase",
      "--quiet",
      "--skip=download/empty",
      `--include=${packages.join(",")}`,
      '--aptopt=APT::Install-Recommends "false"',
      `--setup-hook=mkdir -p "$1/var/cache/apt/archives" && mount --bind ${settings.aptArchives} "$1/var/cache/apt/archives"`,
      `--customize-hook=umount "$1/var/cache/apt/archives"`,
      settings.distro.suite,
      tree,
      ...sourcesLines(settings.distro),
    ],
    { stdio: "ignore" },
  );
}
