/**
 * A device's update state seen from outside: its store (`layers/`, `versions/`) and its ESP
 * (`loader/entries/`, `strata/`) as directories on the host: a mounted image, or the plain
 * directories that tests and benchmarks run the agent (assets/update/strata-update) against.
 *
 * `checkDevice` is the offline checker of the agent's promise: every loader entry names a
 * version that is whole (its layer list, every layer and both boot files present with the
 * digests they are named by), the entry's command line boots that version, and one entry
 * without a counter (a version that is known good) exists. Power-cut tests run it after every
 * cut; it reads files only.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { serializeManifest, sha256Hex } from "./manifest.js";
import { readRelease } from "./repo.js";

export interface DeviceDirs {
  store: string;
  esp: string;
}

const ENTRY = /^strata-(\d+)(?:\+\d+(?:-\d+)?)?\.conf$/;

const digestOk = (file: string, digest: string) =>
  existsSync(file) && sha256Hex(readFileSync(file)) === digest;

/** What is wrong with the device, one line a problem; empty when every entry boots. */
export function checkDevice({ store, esp }: DeviceDirs): string[] {
  const problems: string[] = [];
  const dir = join(esp, "loader/entries");
  const entries = existsSync(dir) ? readdirSync(dir).filter((f) => ENTRY.test(f)) : [];
  if (!entries.some((f) => /^strata-\d+\.conf$/.test(f))) problems.push("no entry is known good");
  for (const e of entries) {
    const v = ENTRY.exec(e)?.[1] as string;
    const text = readFileSync(join(dir, e), "utf8");
    if (!new RegExp(`(^| )strata\\.version=${v}( |$)`, "m").test(text))
      problems.push(`${e}: its options do not boot version ${v}`);
    const list = join(store, "versions", v, "layers");
    if (!existsSync(list)) {
      problems.push(`${e}: versions/${v}/layers is missing`);
      continue;
    }
    for (const d of readFileSync(list, "utf8").split("\n").filter(Boolean)) {
      if (!digestOk(join(store, "layers", `${d}.sqfs`), d))
        problems.push(`${e}: layer ${d} is missing or damaged`);
    }
    const boot = [...text.matchAll(/^(?:linux|initrd) \/strata\/(\S+)$/gm)].map((m) => m[1]);
    if (boot.length !== 2) problems.push(`${e}: names ${boot.length} boot files, not 2`);
    for (const d of boot) {
      if (!digestOk(join(esp, "strata", d as string), d as string))
        problems.push(`${e}: boot file ${d} is missing or damaged`);
    }
  }
  return problems;
}

/**
 * Lays out, under `dir`, the store and ESP a disk image of repository version `version` holds
 * at its first boot (src/outputs/disk/store.ts, plan.ts): that version as the factory one.
 */
export function deviceFromRepo(repo: string, version: number, dir: string): DeviceDirs {
  const store = join(dir, "store");
  const esp = join(dir, "esp");
  const m = readRelease(repo, version);
  const v = join(store, "versions", String(version));
  for (const d of [join(store, "layers"), v, join(esp, "loader/entries"), join(esp, "strata")])
    mkdirSync(d, { recursive: true });
  for (const l of m.layers)
    copyFileSync(
      join(repo, "layers", `${l.digest}.sqfs`),
      join(store, "layers", `${l.digest}.sqfs`),
    );
  writeFileSync(join(v, "layers"), m.layers.map((l) => `${l.digest}\n`).join(""));
  writeFileSync(join(v, "manifest.json"), serializeManifest(m));
  writeFileSync(join(v, "factory"), "");
  for (const f of [m.vmlinuz, m.initrd])
    copyFileSync(join(repo, "boot", f.digest), join(esp, "strata", f.digest));
  writeFileSync(
    join(esp, "loader/entries", `strata-${version}.conf`),
    [
      `title ${m.recipe} (strata version ${version})`,
      `version ${version}`,
      "sort-key strata",
      `linux /strata/${m.vmlinuz.digest}`,
      `initrd /strata/${m.initrd.digest}`,
      `options ${m.cmdline}`,
      "",
    ].join("\n"),
  );
  return { store, esp };
}
