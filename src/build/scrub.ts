/**
 * What a build leaves in a layer that does not belong to it: apt's binary caches and logs,
 * dpkg's and debconf's backup copies, ldconfig's timestamped cache, and the mount points that
 * bubblewrap had to create. Removing them keeps layers small and equal inputs byte-identical.
 * Only the layer's own files are touched (its upper directory): nothing below changes.
 */
import { lstatSync, rmSync } from "node:fs";
import { join } from "node:path";

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
  for (const rel of ALWAYS) rmSync(join(upper, rel), { force: true });
  for (const p of placeholders) {
    const path = join(upper, p);
    try {
      const st = lstatSync(path);
      if (st.isFile() && st.size === 0) rmSync(path);
    } catch {}
  }
}
