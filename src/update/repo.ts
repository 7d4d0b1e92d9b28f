/**
 * An update repository: static files, content-addressed, so any web server or CDN serves it
 * and a file once written never changes.
 *
 *   layers/<sha256>.sqfs                   a layer module, shared by every version that stacks it
 *   boot/<sha256>                          a kernel or an initramfs, shared the same way
 *   versions/<n>/manifest.json (+ .sig)    release n (./manifest.ts), numbered in publish order
 *   channels/<name>.json (+ .sig)          the channel's version, serial and expiry
 *
 * `addRelease` is the writing half of `strata publish`: it copies in only what the repository
 * lacks (each file to a temporary name, then renamed), writes and signs the manifest, then the
 * channel. A build whose identity (./manifest.ts `releaseIdentity`) is already a version is
 * that version: nothing is added, and a channel already pointing at it is left as it is.
 *
 * Writers take the repository's lock first (`withRepoLock`): two publishes at once (two CI
 * branches) would otherwise both number their release n+1, and the channel's serial would
 * count one of them. Readers need no lock: every file appears by rename.
 */
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { sha256 } from "../cache/canonical.js";
import { acquireLock } from "../cache/lock.js";
import { StrataError } from "../errors.js";
import {
  CHANNEL_FORMAT,
  type Channel,
  parseChannel,
  parseManifest,
  RELEASE_FORMAT,
  type ReleaseManifest,
  releaseIdentity,
  serializeChannel,
  serializeManifest,
} from "./manifest.js";

/** A build to publish: its files on the host and what the manifest says of them. */
export interface ReleaseInput {
  recipe: string;
  arch: string;
  root: ReleaseManifest["root"];
  kernel: string;
  /** The command line; its strata.version= is set to the published version */
  cmdline: string;
  vmlinuz: { file: string; digest: string; bytes: number };
  initrd: { file: string; digest: string; bytes: number };
  layers: { name: string; file: string; digest: string; bytes: number }[];
}

export interface PublishOptions {
  channel: string;
  /** Signs `file` into `file.sig` */
  sign: (file: string) => Promise<void>;
  /** Seconds the channel stays valid */
  validSeconds: number;
  /** Unix seconds, for tests */
  now?: number;
}

export interface PublishResult {
  version: number;
  /** False when the channel already pointed at this build: nothing was written */
  changed: boolean;
  serial: number;
  /** Files written, relative to the repository, with their bytes */
  added: { path: string; bytes: number }[];
}

/** Places `from` at `to` through a temporary name (hard link when it can, else a copy). */
function placeOnce(from: string, to: string, bytes: number): boolean {
  if (existsSync(to)) {
    if (statSync(to).size !== bytes) {
      throw new StrataError("E_PUBLISH", `${to} exists with another size than ${from}`, {
        hint: "a repository file never changes; remove the damaged file and publish again",
      });
    }
    return false;
  }
  const tmp = `${to}.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  try {
    linkSync(from, tmp);
  } catch {
    copyFileSync(from, tmp);
  }
  renameSync(tmp, to);
  return true;
}

function versionsIn(repo: string): number[] {
  const dir = join(repo, "versions");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => /^[1-9][0-9]*$/.test(n) && existsSync(join(dir, n, "manifest.json")))
    .map(Number)
    .sort((a, b) => a - b);
}

export function readChannel(repo: string, channel: string): Channel | undefined {
  const file = join(repo, "channels", `${channel}.json`);
  return existsSync(file) ? parseChannel(readFileSync(file, "utf8")) : undefined;
}

export function readRelease(repo: string, version: number): ReleaseManifest {
  return parseManifest(
    readFileSync(join(repo, "versions", String(version), "manifest.json"), "utf8"),
  );
}

/** The lock file; `strata serve` never serves dotfiles. */
export const REPO_LOCK = ".lock";

/** Runs `fn` holding the repository's lock, waiting (and saying so) while another holds it. */
export async function withRepoLock<T>(
  repo: string,
  onWait: (holder: string) => void,
  fn: () => T | Promise<T>,
): Promise<T> {
  mkdirSync(repo, { recursive: true });
  const lock = await acquireLock(join(repo, REPO_LOCK), onWait);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

const withVersion = (cmdline: string, version: number) =>
  /(^| )strata\.version=\d+( |$)/.test(cmdline)
    ? cmdline.replace(/(^| )strata\.version=\d+/, `$1strata.version=${version}`)
    : cmdline;

/** Adds a build to the repository as the channel's next version (see the header). */
export async function addRelease(
  repo: string,
  release: ReleaseInput,
  o: PublishOptions,
): Promise<PublishResult> {
  const added: PublishResult["added"] = [];
  const note = (path: string) => added.push({ path, bytes: statSync(join(repo, path)).size });
  for (const d of ["layers", "boot", "versions", "channels"])
    mkdirSync(join(repo, d), { recursive: true });

  const current = readChannel(repo, o.channel);
  if (current && (current.recipe !== release.recipe || current.arch !== release.arch)) {
    throw new StrataError(
      "E_PUBLISH",
      `channel '${o.channel}' of ${repo} is for ${current.recipe} (${current.arch}), not ${release.recipe} (${release.arch})`,
      { hint: "publish each recipe and architecture to its own repository or channel" },
    );
  }
  const identity = releaseIdentity({
    ...release,
    vmlinuz: release.vmlinuz,
    initrd: release.initrd,
    layers: release.layers,
  });
  const existing = versionsIn(repo);
  const same = existing.find((v) => releaseIdentity(readRelease(repo, v)) === identity);
  if (same !== undefined && current?.version === same) {
    return { version: same, changed: false, serial: current.serial, added };
  }

  let version = same;
  if (version === undefined) {
    for (const l of release.layers) {
      const path = `layers/${l.digest}.sqfs`;
      if (placeOnce(l.file, join(repo, path), l.bytes)) note(path);
    }
    for (const f of [release.vmlinuz, release.initrd]) {
      const path = `boot/${f.digest}`;
      if (placeOnce(f.file, join(repo, path), f.bytes)) note(path);
    }
    version = (existing.at(-1) ?? 0) + 1;
    const manifest: ReleaseManifest = {
      format: RELEASE_FORMAT,
      recipe: release.recipe,
      arch: release.arch,
      version,
      root: release.root,
      kernel: release.kernel,
      cmdline: withVersion(release.cmdline, version),
      vmlinuz: { digest: release.vmlinuz.digest, bytes: release.vmlinuz.bytes },
      initrd: { digest: release.initrd.digest, bytes: release.initrd.bytes },
      layers: release.layers.map((l) => ({ name: l.name, digest: l.digest, bytes: l.bytes })),
    };
    // The version appears whole or not at all: written beside, then renamed.
    const tmp = join(repo, "versions", `.tmp-${version}-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    writeFileSync(join(tmp, "manifest.json"), serializeManifest(manifest));
    await o.sign(join(tmp, "manifest.json"));
    renameSync(tmp, join(repo, "versions", String(version)));
    note(`versions/${version}/manifest.json`);
    note(`versions/${version}/manifest.json.sig`);
  }

  const manifestText = readFileSync(join(repo, "versions", String(version), "manifest.json"));
  const now = o.now ?? Math.floor(Date.now() / 1000);
  const channel: Channel = {
    format: CHANNEL_FORMAT,
    channel: o.channel,
    recipe: release.recipe,
    arch: release.arch,
    serial: (current?.serial ?? 0) + 1,
    expires: now + o.validSeconds,
    version,
    manifest: sha256(manifestText),
  };
  const tmp = join(repo, "channels", `.${o.channel}.json.tmp-${process.pid}`);
  writeFileSync(tmp, serializeChannel(channel));
  await o.sign(tmp);
  // The signature first: a device that reads the new channel finds its signature.
  renameSync(`${tmp}.sig`, join(repo, "channels", `${o.channel}.json.sig`));
  renameSync(tmp, join(repo, "channels", `${o.channel}.json`));
  note(`channels/${o.channel}.json`);
  note(`channels/${o.channel}.json.sig`);
  return { version, changed: true, serial: channel.serial, added };
}

export interface RepoGcResult {
  keptVersions: number[];
  removed: { path: string; bytes: number }[];
}

/**
 * Drops versions that no channel points at and that are not among the newest `keep`, then the
 * layers and boot files that no kept version references. Versions go first, so a file is never
 * missing for a version that is still there.
 */
export function gcRepo(repo: string, keep = 3): RepoGcResult {
  const all = versionsIn(repo);
  const channels = existsSync(join(repo, "channels"))
    ? readdirSync(join(repo, "channels")).filter((f) => /^[^.].*\.json$/.test(f))
    : [];
  const pointed = new Set(
    channels.map((f) => parseChannel(readFileSync(join(repo, "channels", f), "utf8")).version),
  );
  const newest = new Set(all.slice(-Math.max(0, keep)));
  const kept = all.filter((v) => pointed.has(v) || newest.has(v));
  const removed: RepoGcResult["removed"] = [];
  const remove = (path: string) => {
    const full = join(repo, path);
    const st = statSync(full);
    removed.push({ path, bytes: st.isDirectory() ? 0 : st.size });
    rmSync(full, { recursive: true, force: true });
  };
  for (const v of all) if (!kept.includes(v)) remove(`versions/${v}`);
  const used = new Set<string>();
  for (const v of kept) {
    const m = readRelease(repo, v);
    for (const l of m.layers) used.add(`layers/${l.digest}.sqfs`);
    used.add(`boot/${m.vmlinuz.digest}`);
    used.add(`boot/${m.initrd.digest}`);
  }
  for (const d of ["layers", "boot"]) {
    if (!existsSync(join(repo, d))) continue;
    for (const f of readdirSync(join(repo, d))) if (!used.has(`${d}/${f}`)) remove(`${d}/${f}`);
  }
  return { keptVersions: kept, removed };
}
