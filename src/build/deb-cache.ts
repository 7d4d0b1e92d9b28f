/**
 * Guards the .deb cache that builds share with the host's apt.
 *
 * apt trusts a file already in its archive directory when its size is right; it does not hash
 * it again. The directory is shared (no package is downloaded twice), so a file changed by one
 * build's package script would be installed by the next build, or by the host's own apt. So:
 *
 * - only strata's package steps and the bootstrap can write to it (`run` steps and
 *   `strata shell` get it read-only, see sandbox.ts);
 * - before dpkg reads them, the files a package step's apt takes from the cache (its
 *   pre-install hook names them, build/apt-hook.ts) are checked against the SHA-256 that the
 *   signed package lists give for them, as the host's apt reads them (build/deb-lookup.ts);
 * - after a package step or a bootstrap, every .deb that appeared or changed during it must
 *   match the lists too, or it is deleted (apt downloads it again next time);
 * - a file checked once is remembered by its inode, size, mtime and ctime (which nothing in
 *   user space can set back), so an unchanged cache costs one stat per file;
 * - a step in progress is written down first: when a killed build never checked what its step
 *   wrote, the next one deletes what changed since;
 * - that record is kept per host (build/context.ts), outside anything a step can write.
 */
import { createHash } from "node:crypto";
import {
  createReadStream,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";

/** What apt expects a file to be. */
export interface ExpectedDeb {
  size: number;
  sha256: string;
}

const URI_LINE = /^'[^']*' (\S+\.deb) (\d+) (\S+)\s*$/;

/**
 * Parses `apt-get download --print-uris` output, `'URI' FILE SIZE SHA256:HEX` per file. Lines
 * with another hash are left out: `apt-get install --print-uris` names its files with the
 * first hash the lists give, often MD5, which proves nothing.
 */
export function parsePrintUris(output: string): Map<string, ExpectedDeb> {
  const out = new Map<string, ExpectedDeb>();
  for (const line of output.split("\n")) {
    const m = URI_LINE.exec(line.trim());
    const sha = /^SHA256:([0-9a-f]{64})$/.exec(m?.[3] ?? "")?.[1];
    if (m && sha) out.set(m[1] as string, { size: Number(m[2]), sha256: sha });
  }
  return out;
}

/** The files `apt-get --print-uris` names, whatever their hash. */
export function printedDebs(output: string): string[] {
  return output
    .split("\n")
    .map((l) => URI_LINE.exec(l.trim())?.[1])
    .filter((n): n is string => n !== undefined);
}

/** What apt's lists say of these cache files (by name); files it does not know are left out. */
export type Lookup = (names: string[]) => Promise<ReadonlyMap<string, ExpectedDeb>>;

/** `name:arch=version` for apt, from a cache file's name (`name_version_arch.deb`). */
export function debSpec(file: string): string | undefined {
  const m = /^([a-z0-9][a-z0-9+.-]*)_([^_/]+)_([a-z0-9-]+)\.deb$/.exec(file);
  if (!m) return undefined;
  let version: string;
  try {
    version = decodeURIComponent(m[2] as string);
  } catch {
    return undefined;
  }
  return m[3] === "all" ? `${m[1]}=${version}` : `${m[1]}:${m[3]}=${version}`;
}

/** A file's identity as far as changes go. */
type StatKey = string;
export type Snapshot = Map<string, StatKey>;

function statKey(path: string): StatKey | undefined {
  try {
    const st = statSync(path, { bigint: true });
    if (!st.isFile()) return undefined;
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return undefined;
  }
}

/** The .deb files in `dir` and their stat keys. */
export function snapshot(dir: string): Snapshot {
  const out: Snapshot = new Map();
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    if (!name.endsWith(".deb")) continue;
    const key = statKey(join(dir, name));
    if (key) out.set(name, key);
  }
  return out;
}

/** Files of `after` that are new or changed since `before`. */
export function changedSince(before: Snapshot, after: Snapshot): string[] {
  return [...after].filter(([name, key]) => before.get(name) !== key).map(([name]) => name);
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

interface State {
  /** name → stat key of a file found to match the lists. */
  verified: Record<string, StatKey>;
}

/** Whether process `pid` is alive. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface CheckResult {
  /** Files deleted because they were not what apt recorded. */
  removed: string[];
}

/** The cache directory and strata's record of it (kept where package steps cannot write). */
export class DebCache {
  constructor(
    readonly dir: string,
    private readonly stateFile: string,
  ) {}

  private read(): State {
    try {
      const s = JSON.parse(readFileSync(this.stateFile, "utf8")) as State;
      return { verified: s.verified ?? {} };
    } catch {
      return { verified: {} };
    }
  }

  private write(state: State): void {
    const tmp = `${this.stateFile}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(state));
    renameSync(tmp, this.stateFile);
  }

  private remove(name: string, removed: string[]): void {
    rmSync(join(this.dir, name), { force: true });
    removed.push(name);
  }

  /**
   * Checks the files apt is about to take from the cache (`names`, from the pre-install hook) that
   * were not checked since they last changed; one that does not match is deleted, so apt
   * downloads it again.
   */
  async checkBeforeUse(names: readonly string[], lookup: Lookup): Promise<CheckResult> {
    const state = this.read();
    const unchecked = names.filter((n) => {
      const key = statKey(join(this.dir, n));
      return key !== undefined && state.verified[n] !== key;
    });
    const removed: string[] = [];
    if (unchecked.length === 0) return { removed };
    const expected = await lookup(unchecked);
    for (const name of unchecked) await this.settle(state, name, expected.get(name), removed);
    this.write(state);
    return { removed };
  }

  /** Marks `name` verified if it matches `want`, else deletes it. */
  private async settle(
    state: State,
    name: string,
    want: ExpectedDeb | undefined,
    removed: string[],
  ): Promise<void> {
    const key = statKey(join(this.dir, name));
    if (want && key && (await this.matches(name, want))) state.verified[name] = key;
    else {
      delete state.verified[name];
      this.remove(name, removed);
    }
  }

  /**
   * Runs `step`, which may write to the cache, then checks what changed during it against
   * what apt expects (`expected`, or what `lookup` finds for the changed files); anything else
   * is deleted. What a killed build left unchecked is deleted first.
   */
  async guard(step: () => Promise<void>, lookup: Lookup): Promise<CheckResult> {
    const removed = this.recover();
    const before = snapshot(this.dir);
    const pending = `${this.stateFile}.pending-${process.pid}`;
    writeFileSync(pending, JSON.stringify(Object.fromEntries(before)));
    await step();
    const changed = changedSince(before, snapshot(this.dir));
    const expected = changed.length > 0 ? await lookup(changed) : new Map<string, ExpectedDeb>();
    const state = this.read();
    for (const name of changed) await this.settle(state, name, expected.get(name), removed);
    this.write(state);
    rmSync(pending, { force: true });
    return { removed };
  }

  /**
   * Deletes what changed since the snapshot of a step whose check never ran: one of a build
   * that was killed, or an earlier step of this one that failed. Each step in progress has its
   * own snapshot file (`<state>.pending-PID`), so concurrent builds do not take each other's.
   */
  private recover(): string[] {
    const removed: string[] = [];
    const dir = dirname(this.stateFile);
    const prefix = `${basename(this.stateFile)}.pending-`;
    for (const file of readdirSync(dir).filter((f) => f.startsWith(prefix))) {
      const pid = Number(file.slice(prefix.length));
      if (pid !== process.pid && alive(pid)) continue;
      let before: Snapshot;
      try {
        before = new Map(Object.entries(JSON.parse(readFileSync(join(dir, file), "utf8"))));
      } catch {
        before = new Map();
      }
      const state = this.read();
      for (const name of changedSince(before, snapshot(this.dir))) {
        delete state.verified[name];
        this.remove(name, removed);
      }
      this.write(state);
      rmSync(join(dir, file), { force: true });
    }
    return removed;
  }

  private async matches(name: string, want: ExpectedDeb): Promise<boolean> {
    const path = join(this.dir, name);
    try {
      if (statSync(path).size !== want.size) return false;
      return (await sha256File(path)) === want.sha256;
    } catch {
      return false;
    }
  }
}
