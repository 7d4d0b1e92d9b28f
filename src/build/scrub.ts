/**
 * What a build leaves in a layer that does not belong to it: apt's binary caches and logs,
 * dpkg's and debconf's backup copies, ldconfig's timestamped cache, and the mount points that
 * bubblewrap had to create. Removing them keeps layers small and equal inputs byte-identical.
 * Only the layer's own files are touched (its upper directory): nothing below changes.
 *
 * The upper directory holds what the layer's steps made, so any of these paths may pass
 * through a symlink (`var/lib/dpkg -> /var/lib/dpkg`): removals never follow one, not even a
 * parent directory (src/host/in-root.ts), so nothing outside the layer is ever deleted.
 */
import { removeInRoot } from "../host/in-root.js";

const ALWAYS = [
  "var/cache/apt/pkgcache.bin",
  "var/cache/apt/srcpkgcache.bin",
  "var/log/apt/history.log",
  "var/log/apt/term.log",
  "var/log/apt/eipp.log.xz",
  "var/log/dpkg.log",
  "var/log/alternatives.log",
  "var/cache/ldconfig/aux-cache",
  "var/lib/dpkg/status-old",
  "var/lib/dpkg/diversions-old",
  "var/lib/dpkg/statoverride-old",
  "var/lib/dpkg/lock",
  "var/lib/dpkg/lock-frontend",
  "var/lib/dpkg/triggers/Lock",
  "var/cache/debconf/config.dat-old",
  "var/cache/debconf/templates.dat-old",
  "var/cache/debconf/passwords.dat-old",
  "var/cache/apt/archives/lock",
  "var/lib/apt/lists/lock",
];

/** Removes `placeholders` (absolute paths in the image) only when they are empty files. */
export function scrubLayer(upper: string, placeholders: readonly string[]): void {
  for (const rel of ALWAYS) removeInRoot(upper, rel);
  for (const p of placeholders) removeInRoot(upper, p, (st) => st.isFile() && st.size === 0);
}
