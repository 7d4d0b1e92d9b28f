/**
 * A check between apt's downloads and dpkg: apt runs its DPkg::Pre-Install-Pkgs commands with
 * the .deb files it is about to install, after it has fetched what was missing and before
 * dpkg reads any of them. strata's hook hands that list to strata through a directory shared
 * with the host and waits for the verdict; strata checks the files apt took from the shared
 * cache (build/deb-cache.ts) and answers "ok", or deletes the bad ones and answers "bad", so
 * that apt stops and the step is run again (apt downloads what was deleted). apt verifies what
 * it downloads itself; this covers what it did not download. It costs nothing when every file
 * was checked before, unlike asking apt for its plan in a separate run.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, watch, writeFileSync } from "node:fs";
import { basename, join } from "node:path";

/** Where the control directory is seen inside the sandbox. */
export const APT_CONTROL_IN_ROOT = "/run/strata-apt";

/** The hook, run by apt with the .deb paths on stdin, one per line. */
export const APT_HOOK = `#!/bin/sh
# strata: the .deb files apt is about to install, checked by strata before dpkg reads them
cat > ${APT_CONTROL_IN_ROOT}/debs.tmp && mv ${APT_CONTROL_IN_ROOT}/debs.tmp ${APT_CONTROL_IN_ROOT}/debs
i=0
while [ ! -e ${APT_CONTROL_IN_ROOT}/verdict ]; do
  i=$((i + 1)); [ "$i" -lt 60000 ] || exit 1
  sleep 0.01
done
[ "$(cat ${APT_CONTROL_IN_ROOT}/verdict)" = ok ]
`;

export interface PreInstallWatch {
  /** Whether the check refused files (the step is to be run again). */
  refused(): boolean;
  /** Stops watching; waits for a check in progress. */
  stop(): Promise<void>;
}

/**
 * Watches `dir` (empty, bound at APT_CONTROL_IN_ROOT) for the hook's list; `check` gets the
 * cache file names apt will install and says whether they may be used.
 */
export function watchPreInstall(
  dir: string,
  check: (names: string[]) => Promise<boolean>,
): PreInstallWatch {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let refused = false;
  let busy: Promise<void> | undefined;
  const look = () => {
    if (busy || !existsSync(join(dir, "debs"))) return;
    const names = readFileSync(join(dir, "debs"), "utf8")
      .split("\n")
      .filter((l) => l.endsWith(".deb"))
      .map((l) => basename(l.trim()));
    rmSync(join(dir, "debs"));
    busy = check(names)
      .catch(() => false)
      .then((ok) => {
        refused ||= !ok;
        writeFileSync(join(dir, "verdict"), ok ? "ok\n" : "bad\n");
        busy = undefined;
      });
  };
  // inotify tells at once; the timer is the fallback where it cannot.
  const watcher = watch(dir, look);
  const timer = setInterval(look, 100);
  return {
    refused: () => refused,
    async stop() {
      watcher.close();
      clearInterval(timer);
      await busy;
    },
  };
}
