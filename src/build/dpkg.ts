/** Reads dpkg's status database and tells what a layer installed, removed or changed. */
import type { PackageRef } from "../cache/store.js";
import { tryReadFileInRoot } from "../host/in-root.js";

export function parseDpkgStatus(text: string): PackageRef[] {
  const out: PackageRef[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    const field = (name: string) => new RegExp(`^${name}: (.*)$`, "m").exec(para)?.[1]?.trim();
    const status = field("Status");
    const name = field("Package");
    if (!name || !status?.endsWith(" installed")) continue;
    out.push({ name, version: field("Version") ?? "", arch: field("Architecture") ?? "" });
  }
  return out.sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : a.arch < b.arch ? -1 : 1,
  );
}

/**
 * The packages installed in the tree at host path `root` (none without a status file). The
 * path is resolved inside the tree: a status file that is a symlink to a host file is never
 * read; one that is a FIFO, a device or a symlink loop is an E_LAYER_FILE error.
 */
export function readDpkgStatus(root: string): PackageRef[] {
  const status = tryReadFileInRoot(root, "/var/lib/dpkg/status");
  return status ? parseDpkgStatus(status.toString("utf8")) : [];
}

export interface PackageChanges {
  added: PackageRef[];
  removed: PackageRef[];
  /** Same package, other version (upgrades and downgrades). */
  changed: (PackageRef & { from: string })[];
}

export function diffPackages(
  before: readonly PackageRef[],
  after: readonly PackageRef[],
): PackageChanges {
  const id = (p: PackageRef) => `${p.name}:${p.arch}`;
  const old = new Map(before.map((p) => [id(p), p]));
  const now = new Map(after.map((p) => [id(p), p]));
  const added: PackageRef[] = [];
  const changed: (PackageRef & { from: string })[] = [];
  for (const p of after) {
    const o = old.get(id(p));
    if (!o) added.push(p);
    else if (o.version !== p.version) changed.push({ ...p, from: o.version });
  }
  const removed = before.filter((p) => !now.has(id(p)));
  return { added, removed, changed };
}
