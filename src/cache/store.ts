/**
 * The layer cache on disk:
 *
 *   <cache>/layers/<key>/module.sqfs   the layer's squashfs module
 *   <cache>/layers/<key>/meta.json     name, content digest, size, packages, input manifest
 *   <cache>/index/<recipe>.json        the inputs each layer of a recipe was last built from
 *   <cache>/apt-lists/<digest>/        apt's package lists, shared by builds of one distro
 *   <cache>/tmp/                       work directories, emptied when a build takes the lock
 *   <cache>/lock                       held by the build that writes the cache
 *
 * An entry is complete or absent: it is assembled under tmp/, its files and directory are
 * fsynced, it is renamed into layers/ at once, and layers/ is fsynced.
 *
 * An entry is checked before it is used. `get` compares the module's size with meta.bytes (a
 * stat, on every lookup); `verify` compares its sha256 with meta.digest (once per build, when
 * the module is about to be placed into an output), unless the module is unchanged since it
 * was last hashed: `verified` in the entry holds its device, inode, size, mtime and ctime then,
 * and any write to the module (through a hard link in an output directory too) changes ctime. A damaged entry is a miss: it is evicted
 * when this Cache holds the lock, and `damage(key)` says what was wrong, for the plan's reason.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { StrataError } from "../errors.js";
import { fileSha256 } from "./canonical.js";
import { acquireLock, type Lock } from "./lock.js";

/** The file in an entry that records the module's stat when its digest last matched. */
const VERIFIED_STAMP = "verified";

function moduleStatKey(path: string): string | undefined {
  try {
    const st = statSync(path, { bigint: true });
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return undefined;
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

export interface PackageRef {
  name: string;
  version: string;
  arch: string;
}

export interface LayerMeta {
  key: string;
  name: string;
  /** sha256 of module.sqfs */
  digest: string;
  bytes: number;
  created: string;
  seconds: number;
  manifest: unknown;
  /** Every package installed once this layer is on the stack. */
  packages: PackageRef[];
}

export interface CacheEntry {
  meta: LayerMeta;
  module: string;
}

export function defaultCacheDir(): string {
  if (process.env.STRATA_CACHE_DIR) return process.env.STRATA_CACHE_DIR;
  if (process.getuid?.() === 0) return "/var/cache/strata";
  return join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? "/tmp", ".cache"), "strata");
}

/** Flushes a file or directory to disk (fsync). */
async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function fsyncPathSync(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The entry's meta.json and module path as they are on disk, unchecked. */
function readEntry(dir: string): CacheEntry | undefined {
  try {
    const meta = JSON.parse(readFileSync(join(dir, "meta.json"), "utf8")) as LayerMeta;
    const module = join(dir, "module.sqfs");
    return existsSync(module) ? { meta, module } : undefined;
  } catch {
    return undefined;
  }
}

export class Cache {
  /** Whether this Cache holds the lock (then it may evict what it finds damaged). */
  private locked = false;
  /** Keys found damaged in this process, and what was wrong. */
  private readonly damaged = new Map<string, string>();
  /** Digest checks, one per key per Cache (a build's): undefined when good, else the damage. */
  private readonly verified = new Map<string, Promise<string | undefined>>();

  constructor(readonly dir: string) {}

  get layersDir(): string {
    return join(this.dir, "layers");
  }

  ensure(): void {
    for (const d of ["layers", "index", "tmp", "apt-lists"])
      mkdirSync(join(this.dir, d), { recursive: true });
  }

  entryDir(key: string): string {
    return join(this.layersDir, key);
  }

  /** The entry, if present and its module has the size meta.json records. */
  get(key: string): CacheEntry | undefined {
    const entry = readEntry(this.entryDir(key));
    if (!entry) return undefined;
    let size: number;
    try {
      size = statSync(entry.module).size;
    } catch {
      return undefined;
    }
    if (size !== entry.meta.bytes) {
      this.markDamaged(key, `${size} bytes, expected ${entry.meta.bytes}`);
      return undefined;
    }
    return entry;
  }

  /** What was wrong with `key`'s entry, if this Cache found it damaged (and, locked, evicted it). */
  damage(key: string): string | undefined {
    return this.damaged.get(key);
  }

  /**
   * Checks the module's sha256 against meta.digest (once per key: later calls share the first
   * answer). True when it matches; false when the entry is damaged (see get: recorded, and
   * evicted under the lock) or gone.
   */
  async verify(key: string): Promise<boolean> {
    let check = this.verified.get(key);
    if (!check) {
      check = (async () => {
        const entry = this.get(key);
        if (!entry) return this.damaged.get(key) ?? "missing";
        // Hashed before and not changed since (ctime cannot be set back): no need again.
        const stamp = join(this.entryDir(key), VERIFIED_STAMP);
        const now = moduleStatKey(entry.module);
        if (now !== undefined && readText(stamp) === now) return undefined;
        const digest = await fileSha256(entry.module);
        if (digest === entry.meta.digest) {
          if (now !== undefined) writeFileSync(stamp, now);
          return undefined;
        }
        const why = `sha256 ${digest.slice(0, 12)}…, expected ${entry.meta.digest.slice(0, 12)}…`;
        this.markDamaged(key, why);
        return why;
      })();
      this.verified.set(key, check);
    }
    return (await check) === undefined;
  }

  /**
   * Records the module's current stat as checked, when this build has checked it (or made
   * it): after placing a hard link, which changes ctime and nothing else.
   */
  async restamp(key: string): Promise<void> {
    const check = this.verified.get(key);
    if (!check || (await check) !== undefined) return;
    const module = join(this.entryDir(key), "module.sqfs");
    const now = moduleStatKey(module);
    if (now !== undefined) writeFileSync(join(this.entryDir(key), VERIFIED_STAMP), now);
  }

  private markDamaged(key: string, why: string): void {
    this.damaged.set(key, why);
    if (this.locked) this.remove(key);
  }

  /** Marks an entry as used now, for the size-budget garbage collection. */
  touch(key: string): void {
    const now = new Date();
    try {
      utimesSync(this.entryDir(key), now, now);
    } catch {}
  }

  /** A fresh work directory under tmp/ (same filesystem as layers/, so renames are atomic). */
  workDir(label: string): string {
    const dir = join(this.dir, "tmp", `${label}-${process.pid}-${Date.now().toString(36)}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /**
   * Moves a finished entry (a directory with module.sqfs and meta.json) into place, durably:
   * its files and directory are flushed before the rename, and layers/ after it.
   */
  async commit(key: string, staged: string): Promise<CacheEntry> {
    for (const name of readdirSync(staged)) await fsyncPath(join(staged, name));
    await fsyncPath(staged);
    const target = this.entryDir(key);
    if (existsSync(target)) this.remove(key);
    renameSync(staged, target);
    await fsyncPath(this.layersDir);
    const entry = this.get(key);
    if (!entry)
      throw new StrataError("E_CACHE", `cache entry ${key} is unreadable after writing it`);
    // Its digest was computed from these bytes just now.
    const now = moduleStatKey(entry.module);
    if (now !== undefined) writeFileSync(join(target, VERIFIED_STAMP), now);
    this.damaged.delete(key);
    this.verified.set(key, Promise.resolve(undefined));
    return entry;
  }

  list(): (CacheEntry & { lastUsed: Date })[] {
    if (!existsSync(this.layersDir)) return [];
    return readdirSync(this.layersDir)
      .map((key) => {
        // Unchecked: a damaged entry is listed too, so that gc can remove it.
        const e = readEntry(this.entryDir(key));
        return e ? { ...e, lastUsed: statSync(this.entryDir(key)).mtime } : undefined;
      })
      .filter((e): e is CacheEntry & { lastUsed: Date } => e !== undefined);
  }

  /** Removes an entry: renamed away first, so that it is gone at once even if removal stops. */
  remove(key: string): void {
    const gone = join(this.dir, "tmp", `removed-${key}-${process.pid}-${Date.now().toString(36)}`);
    try {
      mkdirSync(join(this.dir, "tmp"), { recursive: true });
      renameSync(this.entryDir(key), gone);
    } catch {
      rmSync(this.entryDir(key), { recursive: true, force: true });
      return;
    }
    rmSync(gone, { recursive: true, force: true });
  }

  /** Takes the cache lock and clears work directories that a killed build left behind. */
  async lock(onWait: (pid: string) => void): Promise<Lock> {
    this.ensure();
    const lock = await acquireLock(join(this.dir, "lock"), onWait);
    const tmp = join(this.dir, "tmp");
    for (const name of readdirSync(tmp)) rmSync(join(tmp, name), { recursive: true, force: true });
    this.locked = true;
    return {
      release: () => {
        this.locked = false;
        lock.release();
      },
    };
  }

  readIndex(recipe: string): Record<string, unknown> {
    try {
      return JSON.parse(readFileSync(join(this.dir, "index", `${recipe}.json`), "utf8"));
    } catch {
      return {};
    }
  }

  /**
   * Writes a recipe's index durably (the new file is flushed, renamed, then its directory),
   * unless it holds that already (a no-op build waits for no disk).
   */
  writeIndex(recipe: string, index: Record<string, unknown>): void {
    const file = join(this.dir, "index", `${recipe}.json`);
    const text = `${JSON.stringify(index, null, 2)}\n`;
    try {
      if (readFileSync(file, "utf8") === text) return;
    } catch {}
    writeFileSync(`${file}.tmp`, text);
    fsyncPathSync(`${file}.tmp`);
    renameSync(`${file}.tmp`, file);
    fsyncPathSync(join(this.dir, "index"));
  }
}
