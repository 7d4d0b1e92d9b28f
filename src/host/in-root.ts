/**
 * Paths inside a layer's tree, as seen from the host: the one place that resolves them.
 *
 * A layer's tree (a build's upper directory, a mounted stack seen through /proc/PID/root, the
 * copy of a flat disk root) holds whatever its steps made, symlinks included. Opened with a
 * plain host path, `/boot/vmlinuz-x -> /etc/shadow` or `var/lib/dpkg -> /var/lib/dpkg` leads
 * to the host's own files. Here a path is resolved the way openat2(RESOLVE_IN_ROOT) does it:
 * component by component with lstat, an absolute symlink starts again at the tree's root,
 * `..` never climbs above it, and more than 40 symlinks is an error. The last open uses
 * O_NOFOLLOW (and O_NONBLOCK, so a FIFO cannot hang it) and checks with fstat that it opened
 * the regular file it resolved: device nodes, FIFOs and sockets are refused.
 *
 * `root` itself is trusted (it may pass through symlinks or /proc/PID/root). The tree must not
 * change while it is read: strata only reads trees no build process runs in any more (a
 * finished layer's upper directory, an output's read-only stack, its own copies).
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync } from "node:fs";
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  type Stats,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { StrataError } from "../errors.js";

/** Symlinks followed in one resolution at most, as Linux does. */
export const MAX_SYMLINKS = 40;

export interface InRoot {
  /** Host path of the resolved location: `root` and `rel`. */
  path: string;
  /** Where it resolved to inside the root ("" for the root), or the first missing component. */
  rel: string;
  /** lstat of what is there; undefined when it does not exist. */
  stat: Stats | undefined;
}

const parts = (path: string) => path.split("/").filter((p) => p !== "" && p !== ".");
const hostPath = (root: string, rel: readonly string[]) =>
  rel.length === 0 ? root : `${root}/${rel.join("/")}`;
/** A path as the layer's own system names it. */
const shown = (path: string) => `/${parts(path).join("/")}`;

function layerError(path: string, what: string, cause?: unknown): StrataError {
  return new StrataError("E_LAYER_FILE", `${shown(path)} in the layer's tree: ${what}`, {
    hint: "symlinks in a layer are followed inside its own tree, never to the build host's files",
    cause,
  });
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/**
 * Resolves `path` (absolute or relative, both taken from the root) inside `root`. The last
 * component is followed when it is a symlink unless `followLast` is false. A missing component
 * gives `stat: undefined` (with `rel` naming it); a non-directory in the middle or a symlink
 * loop throws E_LAYER_FILE.
 */
export function resolveInRoot(
  root: string,
  path: string,
  options: { followLast?: boolean } = {},
): InRoot {
  const followLast = options.followLast ?? true;
  const done: string[] = [];
  const todo = parts(path);
  let hops = 0;
  for (let name = todo.shift(); name !== undefined; name = todo.shift()) {
    if (name === "..") {
      done.pop();
      continue;
    }
    const here = hostPath(root, [...done, name]);
    let st: Stats | undefined;
    try {
      st = lstatOrUndefined(here);
    } catch (e) {
      throw layerError(path, `cannot read /${[...done, name].join("/")}`, e);
    }
    if (!st) return { path: here, rel: [...done, name].join("/"), stat: undefined };
    const last = todo.length === 0;
    if (st.isSymbolicLink() && (!last || followLast)) {
      if (++hops > MAX_SYMLINKS)
        throw layerError(path, `more than ${MAX_SYMLINKS} symlinks (a symlink loop)`);
      const target = readlinkSync(here);
      if (target.startsWith("/")) done.length = 0;
      todo.unshift(...parts(target));
      continue;
    }
    if (!last && !st.isDirectory())
      throw layerError(path, `/${[...done, name].join("/")} is not a directory`);
    done.push(name);
    if (last) return { path: here, rel: done.join("/"), stat: st };
  }
  // Empty, or ended on `..` or a symlink to a directory above: every component is a directory.
  const at = hostPath(root, done);
  return { path: at, rel: done.join("/"), stat: statSync(at) };
}

function describeType(st: Stats): string {
  if (st.isDirectory()) return "a directory";
  if (st.isSymbolicLink()) return "a symlink";
  if (st.isFIFO()) return "a FIFO";
  if (st.isSocket()) return "a socket";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device node";
  return "not a regular file";
}

/** Opens the regular file at `path` inside `root`; undefined when it does not exist. */
function openFileInRoot(root: string, path: string): number | undefined {
  const r = resolveInRoot(root, path);
  if (!r.stat) return undefined;
  if (!r.stat.isFile()) throw layerError(path, `${describeType(r.stat)}, not a regular file`);
  let fd: number;
  try {
    fd = openSync(r.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    throw layerError(path, `cannot open it (${(e as NodeJS.ErrnoException).code})`, e);
  }
  const st = fstatSync(fd);
  if (!st.isFile() || st.ino !== r.stat.ino || st.dev !== r.stat.dev) {
    closeSync(fd);
    throw layerError(path, "it changed while it was opened");
  }
  return fd;
}

function missing(root: string, path: string): StrataError {
  const r = resolveInRoot(root, path);
  const where = parts(path).join("/") === r.rel ? "" : ` (it leads to /${r.rel} inside the tree)`;
  return layerError(path, `missing${where}`);
}

/** The bytes of a regular file inside `root`; undefined when it does not exist. */
export function tryReadFileInRoot(root: string, path: string): Buffer | undefined {
  const fd = openFileInRoot(root, path);
  if (fd === undefined) return undefined;
  try {
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The bytes of a regular file inside `root`; E_LAYER_FILE when it is missing. */
export function readFileInRoot(root: string, path: string): Buffer {
  const data = tryReadFileInRoot(root, path);
  if (data === undefined) throw missing(root, path);
  return data;
}

/** Copies a regular file from inside `root` to the host file `dest` (replaced, not followed). */
export function copyFileFromRoot(root: string, path: string, dest: string): void {
  const from = openFileInRoot(root, path);
  if (from === undefined) throw missing(root, path);
  try {
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;
    const to = openSync(dest, flags, 0o644);
    try {
      const b = Buffer.allocUnsafe(1 << 20);
      for (let n = readSync(from, b, 0, b.length, null); n > 0;) {
        for (let off = 0; off < n;) off += writeSync(to, b, off, n - off);
        n = readSync(from, b, 0, b.length, null);
      }
    } finally {
      closeSync(to);
    }
  } finally {
    closeSync(from);
  }
}

/**
 * Removes the file, symlink or special file at `path` (relative to `root`) without following
 * any symlink: when a parent directory is a symlink (or missing), nothing is removed. A
 * directory is never removed. `only` can refuse by its lstat. True when something was removed.
 */
export function removeInRoot(
  root: string,
  path: string,
  only: (st: Stats) => boolean = () => true,
): boolean {
  const file = plainPath(root, path);
  const st = file === undefined ? undefined : lstatOrUndefined(file);
  if (file === undefined || !st || st.isDirectory() || !only(st)) return false;
  unlinkSync(file);
  return true;
}

/**
 * The host path of `path` when every directory on its way is a real directory (no symlink,
 * no `..`), else undefined: what may be removed without reaching outside the tree.
 */
function plainPath(root: string, path: string): string | undefined {
  const names = parts(path);
  const name = names.pop();
  if (name === undefined || name === ".." || names.includes("..")) return undefined;
  let dir = root;
  for (const n of names) {
    dir = `${dir}/${n}`;
    if (!lstatOrUndefined(dir)?.isDirectory()) return undefined;
  }
  return `${dir}/${name}`;
}

/**
 * Removes whatever is at `path` (a directory with all it holds; a symlink itself, never its
 * target), as an OCI whiteout does. Nothing when a directory on its way is a symlink.
 */
export function removeTreeInRoot(root: string, path: string): boolean {
  const file = plainPath(root, path);
  if (file === undefined || !lstatOrUndefined(file)) return false;
  rmSync(file, { recursive: true, force: true });
  return true;
}

/** Empties directory `path` (an OCI opaque directory); nothing when it is not a plain one. */
export function emptyDirInRoot(root: string, path: string): void {
  const dir = parts(path).length === 0 ? root : plainPath(root, path);
  if (dir === undefined || !lstatOrUndefined(dir)?.isDirectory()) return;
  for (const name of readdirSync(dir)) rmSync(`${dir}/${name}`, { recursive: true, force: true });
}

/** Makes directory `path` inside `root` (and its parents, all inside); returns its host path. */
export function mkdirInRoot(root: string, path: string): string {
  const names = parts(path);
  for (let i = 1; i <= names.length;) {
    const r = resolveInRoot(root, names.slice(0, i).join("/"));
    if (!r.stat) mkdirSync(r.path, { mode: 0o755 });
    else if (!r.stat.isDirectory()) throw layerError(path, `/${r.rel} is not a directory`);
    else i++;
  }
  return resolveInRoot(root, path).path;
}

/**
 * A host path where a new file `path` can be made inside `root`: its directory resolved (and
 * made) inside the root, and whatever non-directory was there removed, so that creating the
 * file (with O_EXCL, a hard link...) can never write through a symlink.
 */
export function freshPathInRoot(root: string, path: string): string {
  const names = parts(path);
  const name = names.pop();
  if (name === undefined || name === "..") throw layerError(path, "not a file name");
  const file = `${mkdirInRoot(root, names.join("/"))}/${name}`;
  const st = lstatOrUndefined(file);
  if (st?.isDirectory()) throw layerError(path, "a directory, where strata writes a file");
  if (st) unlinkSync(file);
  return file;
}

/** Writes a new file at `path` inside `root` (replacing a file or symlink that was there). */
export function writeFileInRoot(
  root: string,
  path: string,
  data: string | Buffer,
  mode = 0o644,
): void {
  writeFileSync(freshPathInRoot(root, path), data, { flag: "wx", mode });
}
