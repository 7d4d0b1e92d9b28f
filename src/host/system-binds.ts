/**
 * bubblewrap arguments that show the host's programs and libraries, read-only, to a host tool
 * run in a sandbox of its own (tar unpacking an image): /usr, and /bin, /lib... as the host has
 * them (symlinks into /usr on a merged-/usr system, directories on an older one). Nothing else
 * of the host: no /etc, /home, /proc or /var.
 */
import { lstatSync, readlinkSync } from "node:fs";

const TOP_LEVEL = ["usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"];

export function hostSystemBinds(): string[] {
  const args: string[] = [];
  for (const name of TOP_LEVEL) {
    const path = `/${name}`;
    let isLink: boolean;
    try {
      isLink = lstatSync(path).isSymbolicLink();
    } catch {
      continue;
    }
    if (isLink) args.push("--symlink", readlinkSync(path), path);
    else args.push("--ro-bind", path, path);
  }
  return args;
}
