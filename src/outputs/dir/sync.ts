/**
 * Incremental update of a `dir` output: brings a tree that holds the merge of the previous layer
 * stack up to the merge of the new one, touching only what can differ, instead of copying the
 * whole tree again.
 *
 * What can differ. Every file in a layer has mtime = SOURCE_DATE_EPOCH, so size and mtime say
 * nothing (rsync's quick check would miss changes). But the layers below the stacks' common
 * prefix are the same, so a path can only differ if it is in one of the changed modules (the
 * old ones above the prefix and the new ones above it): files, directories, whiteouts, opaque
 * directories. Their paths are read from the modules with `unsquashfs -ls` (no mount).
 *
 * How. Starting at the root (always in a module), for every directory D that is listed and is
 * a directory in both the new merged tree and the target (a "kept" directory), each entry of
 * D in either tree is compared:
 *   - only in the target: removed (whiteouts, and what an opaque directory now hides);
 *   - only in the merged tree, or a directory in one and not in the other: copied whole
 *     (recursively: it may hold lower-layer files that no changed module lists, e.g. when an
 *     old opaque directory or whiteout is gone);
 *   - listed and a non-directory in both: replaced;
 *   - listed and a directory in both: kept, and visited the same way;
 *   - not listed: unchanged (it comes from the common layers in both stacks).
 * A kept directory gets the merged tree's owner, mode, xattrs, ACLs and times; one whose
 * target copy has an xattr or ACL that the merged one lacks is re-made first (nothing here can
 * delete an xattr). Names that are not plain UTF-8 without newlines (which a listing cannot
 * carry safely) are always copied whole. Removals are done here (never following a symlink:
 * every directory walked is a real directory in both trees); all copies go through one
 * `tar -c` of the merged tree and one `tar -x` into the target (owners, modes, xattrs incl.
 * capabilities, ACLs, device nodes, symlinks, hard links within the copied set, times).
 *
 * Limits: a hard link between a copied file and one that is not copied becomes two files
 * (same content); atimes and sockets are not carried (as in the tar output).
 */
import { type Dirent, closeSync, mkdirSync, openSync, readSync } from "node:fs";
import { readdirSync, renameSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { StrataError } from "../../errors.js";
import type { run } from "../../host/run.js";

export interface DirSyncInput {
  /** The output tree to update in place (host path); holds the merge of `previous` layers. */
  target: string;
  /**
   * The new merged root (a host path to a read-only mounted overlay of the new stack). It and
   * `target` must be reachable at these paths both by this process and by the commands `run`
   * starts (for a mount made in the build's namespace: `/proc/<its pid>/root/<mount point>`
   * with a `run` that does not enter the namespace).
   */
  merged: string;
  /** Layer modules (squashfs files) that differ between the old and the new stack: the old ones above the common prefix and the new ones above it. */
  changedModules: string[];
  /** Runs a command (use this, never spawn yourself): same signature as `run` in src/host/run.ts. */
  run: typeof run;
  scratch: string;
}

const TAR_FORMAT = [
  "--format=posix",
  "--xattrs",
  "--xattrs-include=*",
  "--acls",
  "--numeric-owner",
];

/** Paths (relative, no leading slash; "" is the root) that `unsquashfs -ls` prints for a module. */
export function parseListing(stdout: string): string[] {
  // With `-d ""` each entry is "/path" on its own line and the root an empty line. A name with
  // a newline breaks into fragments: harmless here, as any extra path is merely synced, and
  // such names are always copied whole by the directory pass.
  const paths = [""];
  for (const line of stdout.split("\n")) if (line.startsWith("/")) paths.push(line.slice(1));
  return paths;
}

/** A name that a line-based listing cannot carry exactly: copied whole, never looked up. */
function awkward(name: Buffer): boolean {
  return name.includes(10) || !Buffer.from(name.toString("utf8"), "utf8").equals(name);
}

/**
 * Updates `input.target` in place to equal the new merged tree; `paths` is how many entries
 * were removed, copied (a whole subtree counts once) or replaced (kept directories whose
 * attributes were merely refreshed do not count).
 */
export async function syncDirOutput(input: DirSyncInput): Promise<{ paths: number }> {
  const { target, merged, run, scratch } = input;
  const listed = new Set<string>();
  for (const module of input.changedModules) {
    const { stdout } = await run("unsquashfs", ["-d", "", "-ls", module]);
    for (const p of parseListing(stdout)) listed.add(p);
  }
  mkdirSync(target, { recursive: true });
  mkdirSync(scratch, { recursive: true });
  if (listed.size === 0) return { paths: 0 };
  listed.add("");

  // Byte paths relative to the trees ("." is the root), for tar's NUL-separated lists.
  const rel = (dir: Buffer, name: Buffer) => Buffer.concat([dir, Buffer.from("/"), name]);
  const abs = (root: string, p: Buffer) => Buffer.concat([Buffer.from(root), Buffer.from("/"), p]);
  const copyMeta: Buffer[] = []; // kept directories and replaced files: without recursion
  const copyTree: Buffer[] = []; // new or retyped entries: with everything below them
  const keptDirs: Buffer[] = [];
  let removed = 0;

  const queue: Buffer[] = [Buffer.from(".")];
  for (let dir = queue.shift(); dir !== undefined; dir = queue.shift()) {
    keptDirs.push(dir);
    copyMeta.push(dir);
    const entries = (d: string) =>
      new Map(
        (
          readdirSync(abs(d, dir), { withFileTypes: true, encoding: "buffer" }) as Dirent<Buffer>[]
        ).map((e) => [e.name.toString("latin1"), e] as const),
      );
    const inMerged = entries(merged);
    const inTarget = entries(target);
    for (const [key, t] of inTarget) {
      if (inMerged.has(key)) continue;
      rmSync(abs(target, rel(dir, t.name)), { recursive: true, force: true });
      removed++;
    }
    for (const [key, m] of inMerged) {
      const p = rel(dir, m.name);
      const t = inTarget.get(key);
      const path = awkward(m.name) ? undefined : p.toString("utf8").slice(2);
      if (!t || path === undefined || m.isDirectory() !== t.isDirectory()) {
        if (t) rmSync(abs(target, p), { recursive: true, force: true });
        copyTree.push(p);
      } else if (listed.has(path)) {
        if (m.isDirectory()) queue.push(p);
        else {
          rmSync(abs(target, p));
          copyMeta.push(p);
        }
      }
    }
  }

  const archive = join(scratch, "dir-sync.tar");
  const metaList = join(scratch, "dir-sync.meta");
  const treeList = join(scratch, "dir-sync.tree");
  const keptList = join(scratch, "dir-sync.kept");
  const keptArchive = join(scratch, "dir-sync-kept.tar");
  try {
    const nulList = (paths: Buffer[]) => Buffer.concat(paths.flatMap((p) => [p, Buffer.from([0])]));
    writeFileSync(metaList, nulList(copyMeta));
    writeFileSync(treeList, nulList(copyTree));
    await run("tar", [
      "-C",
      merged,
      "-c",
      "-f",
      archive,
      ...TAR_FORMAT,
      "--null",
      "--no-recursion",
      "-T",
      metaList,
      "--recursion",
      "-T",
      treeList,
    ]);

    // A kept directory whose target copy carries an xattr or ACL that the merged one lacks is
    // re-made (its entries moved over), as tar only ever adds xattrs.
    writeFileSync(keptList, nulList(keptDirs));
    await run("tar", [
      "-C",
      target,
      "-c",
      "-f",
      keptArchive,
      ...TAR_FORMAT,
      "--null",
      "--no-recursion",
      "-T",
      keptList,
    ]);
    const wanted = new Map<string, Set<string>>();
    for (const e of tarEntries(archive)) wanted.set(e.path, new Set(Object.keys(e.attributes)));
    for (const e of tarEntries(keptArchive)) {
      const keep = wanted.get(e.path) ?? new Set();
      if (Object.keys(e.attributes).some((k) => !keep.has(k))) remake(abs(target, e.pathBytes));
    }

    await run("tar", [
      "-C",
      target,
      "-x",
      "-f",
      archive,
      ...TAR_FORMAT,
      "--same-permissions",
      "--same-owner",
      "--delay-directory-restore",
    ]);
  } finally {
    for (const f of [archive, keptArchive, metaList, treeList, keptList])
      rmSync(f, { force: true });
  }
  return { paths: removed + copyTree.length + copyMeta.length - keptDirs.length };
}

/** Replaces directory `dir` with a fresh one holding the same entries (drops its xattrs). */
function remake(dir: Buffer): void {
  const from = dir.toString("latin1").endsWith("/.") ? dir.subarray(0, -2) : dir;
  const fresh = Buffer.concat([from, Buffer.from(".strata-sync")]);
  const slash = Buffer.from("/");
  rmSync(fresh, { recursive: true, force: true });
  mkdirSync(fresh);
  for (const name of readdirSync(from, { encoding: "buffer" }))
    renameSync(Buffer.concat([from, slash, name]), Buffer.concat([fresh, slash, name]));
  rmdirSync(from);
  renameSync(fresh, from);
}

export interface TarEntry {
  /** The member's path as tar stored it, decoded as latin1 (one char per byte). */
  path: string;
  pathBytes: Buffer;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** pax records for xattrs and ACLs (`SCHILY.xattr.*`, `SCHILY.acl.*`), values in hex. */
  attributes: Record<string, string>;
  /** Byte offset of the member's data in the archive. */
  dataOffset: number;
}

/** The members of a (posix/ustar) tar archive on disk, reading headers only. */
export function* tarEntries(file: string): Generator<TarEntry> {
  const fd = openSync(file, "r");
  try {
    const read = (offset: number, length: number) => {
      const b = Buffer.alloc(length);
      let got = 0;
      while (got < length) {
        const n = readSync(fd, b, got, length - got, offset + got);
        if (n === 0) throw new StrataError("E_COMMAND_FAILED", `truncated tar archive ${file}`);
        got += n;
      }
      return b;
    };
    let offset = 0;
    let pax: Map<string, Buffer> = new Map();
    for (;;) {
      const h = read(offset, 512);
      if (h.every((b) => b === 0)) return;
      const str = (a: number, z: number) => {
        const s = h.subarray(a, z);
        const end = s.indexOf(0);
        return end === -1 ? s : s.subarray(0, end);
      };
      const num = (a: number, z: number) => {
        const s = h.subarray(a, z);
        if ((s[0] ?? 0) & 0x80) return s.subarray(1).reduce((n, b) => n * 256 + b, 0);
        return parseInt(str(a, z).toString("latin1").trim() || "0", 8);
      };
      const type = String.fromCharCode(h[156] ?? 48);
      const size = pax.has("size") ? Number(pax.get("size")?.toString()) : num(124, 136);
      const dataOffset = offset + 512;
      offset = dataOffset + Math.ceil(size / 512) * 512;
      if (type === "x") {
        pax = parsePax(read(dataOffset, size));
        continue;
      }
      if (type === "g") continue;
      const prefix = str(345, 500);
      const name = str(0, 100);
      const pathBytes =
        pax.get("path") ??
        (prefix.length > 0 ? Buffer.concat([prefix, Buffer.from("/"), name]) : name);
      const attributes: Record<string, string> = {};
      for (const [k, v] of pax)
        if (k.startsWith("SCHILY.xattr.") || k.startsWith("SCHILY.acl."))
          attributes[k] = v.toString("hex");
      const stripped = pathBytes.at(-1) === 47 ? pathBytes.subarray(0, -1) : pathBytes;
      yield {
        path: stripped.toString("latin1"),
        pathBytes: stripped,
        type,
        mode: num(100, 108),
        uid: pax.has("uid") ? Number(pax.get("uid")?.toString()) : num(108, 116),
        gid: pax.has("gid") ? Number(pax.get("gid")?.toString()) : num(116, 124),
        size,
        mtime: pax.has("mtime") ? Number(pax.get("mtime")?.toString()) : num(136, 148),
        linkname: (pax.get("linkpath") ?? str(157, 257)).toString("latin1"),
        devmajor: num(329, 337),
        devminor: num(337, 345),
        attributes,
        dataOffset,
      };
      pax = new Map();
    }
  } finally {
    closeSync(fd);
  }
}

function parsePax(data: Buffer): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let i = 0;
  while (i < data.length) {
    const space = data.indexOf(32, i);
    const length = Number(data.subarray(i, space).toString("latin1"));
    if (!(length > 0) || space === -1) break;
    const record = data.subarray(space + 1, i + length - 1); // without the trailing newline
    const eq = record.indexOf(61);
    records.set(record.subarray(0, eq).toString("utf8"), record.subarray(eq + 1));
    i += length;
  }
  return records;
}
