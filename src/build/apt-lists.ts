/**
 * apt's package lists are shared by every build of one distro (settings.aptLists). Fetching
 * them costs seconds per package step, so a build reuses lists refreshed in the last few
 * hours (mmdebstrap refreshes them when it bootstraps, and so does the first package step of
 * a build when they are older). Lists that have gone stale in between show up as a download
 * that fails with 404: the package step then refreshes them and tries once more.
 */
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Lists younger than this are used as they are. */
export const LISTS_MAX_AGE_SECONDS = 6 * 3600;
const STAMP = ".strata-updated";

export function listsAreFresh(dir: string, now = Date.now()): boolean {
  try {
    return now - statSync(join(dir, STAMP)).mtimeMs < LISTS_MAX_AGE_SECONDS * 1000;
  } catch {
    return false;
  }
}

export function markListsFresh(dir: string): void {
  writeFileSync(join(dir, STAMP), `${new Date().toISOString()}\n`);
}

/** Whether apt's output says a download failed (lists older than the mirror's files). */
export const isFetchFailure = (output: string): boolean =>
  /^E: (Failed to fetch|Unable to fetch some archives)/m.test(output);

/** Whether apt stopped because another apt (a concurrent build, the host's) holds a lock. */
export const isLockHeld = (output: string): boolean =>
  /^E: (Could not get lock|Unable to lock)/m.test(output);
