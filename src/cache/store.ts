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
 * An entry is complete or absent: it is assembled under tmp/ and renamed into layers/ at once.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { StrataError } from "../errors.js";
import { acquireLock, type Lock } from "./lock.js";

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

export class Cache {
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

  get(key: string): CacheEntry | undefined {
    const dir = this.entryDir(key);
    try {
      const meta = JSON.parse(readFileSync(join(dir, "meta.json"), "utf8")) as LayerMeta;
      const module = join(dir, "module.sqfs");
      if (!existsSync(module)) return undefined;
      return { meta, module };
    } catch {
      return undefined;
    }
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

  /** Moves a finished entry (a directory with module.sqfs and meta.json) into place. */
  commit(key: string, staged: string): CacheEntry {
    const target = this.entryDir(key);
    if (existsSync(target)) rmSync(target, { recursive: true, force: true });
    renameSync(staged, target);
    const entry = this.get(key);
    if (!entry)
      throw new StrataError("E_CACHE", `cache entry ${key} is unreadable after writing it`);
    return entry;
  }

  list(): (CacheEntry & { lastUsed: Date })[] {
    if (!existsSync(this.layersDir)) return [];
    return readdirSync(this.layersDir)
      .map((key) => {
        const e = this.get(key);
        return e ? { ...e, lastUsed: statSync(this.entryDir(key)).mtime } : undefined;
      })
      .filter((e): e is CacheEntry & { lastUsed: Date } => e !== undefined);
  }

  remove(key: string): void {
    rmSync(this.entryDir(key), { recursive: true, force: true });
  }

  /** Takes the cache lock and clears work directories that a killed build left behind. */
  async lock(onWait: (pid: string) => void): Promise<Lock> {
    this.ensure();
    const lock = await acquireLock(join(this.dir, "lock"), onWait);
    const tmp = join(this.dir, "tmp");
    for (const name of readdirSync(tmp)) rmSync(join(tmp, name), { recursive: true, force: true });
    return lock;
  }

  readIndex(recipe: string): Record<string, unknown> {
    try {
      return JSON.parse(readFileSync(join(this.dir, "index", `${recipe}.json`), "utf8"));
    } catch {
      return {};
    }
  }

  writeIndex(recipe: string, index: Record<string, unknown>): void {
    const file = join(this.dir, "index", `${recipe}.json`);
    writeFileSync(`${file}.tmp`, `${JSON.stringify(index, null, 2)}\n`);
    renameSync(`${file}.tmp`, file);
  }
}
