/**
 * A device's update state seen from outside: its store (`layers/`, `versions/`) and its ESP
 * (`loader/entries/`, `strata/`; BIOS: the store's `update/entries/`, `boot/` and
 * `boot/grub/grub.cfg`) as directories on the host: a mounted image, or the plain
 * directories that tests and benchmarks run the agent (assets/update/strata-update) against.
 *
 * `checkDevice` is the offline checker of the agent's promise: every loader entry names a
 * version that is whole (its layer list, every layer and both boot files present with the
 * digests they are named by), the entry's command line boots that version, and one entry
 * without a counter (a version that is known good) exists. On BIOS, the same holds for every
 * menu entry of grub.cfg, and its default is one of them. Power-cut tests run it after every
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
import { sha256 } from "../cache/canonical.js";
import { loaderEntry } from "../outputs/disk/esp.js";
import { grubConfig, grubEnv } from "../outputs/disk/grub.js";
import { serializeManifest } from "./manifest.js";
import { readRelease } from "./repo.js";

/** A device's partitions as directories; without `esp` it is a BIOS device (GRUB). */
export interface DeviceDirs {
  store: string;
  esp?: string;
}

const ENTRY = /^strata-(\d+)(?:\+\d+(?:-\d+)?)?\.conf$/;

const digestOk = (file: string, digest: string) =>
  existsSync(file) && sha256(readFileSync(file)) === digest;

/** Where the entries and boot files are: the ESP (UEFI) or the store (BIOS, see the agent). */
function places({ store, esp }: DeviceDirs) {
  return esp !== undefined
    ? { entries: join(esp, "loader/entries"), boot: join(esp, "strata"), prefix: "/strata/" }
    : { entries: join(store, "update/entries"), boot: join(store, "boot"), prefix: "/boot/" };
}

/** A bootable thing (an entry file, a GRUB menu entry) and what it names. */
interface Bootable {
  name: string;
  version: string;
  text: string;
  good: boolean;
}

/** What a device can boot: its entry files and, BIOS, what its grub.cfg really offers. */
function bootables(device: DeviceDirs): Bootable[] {
  const { entries } = places(device);
  const found: Bootable[] = (existsSync(entries) ? readdirSync(entries) : [])
    .filter((f) => ENTRY.test(f))
    .map((f) => ({
      name: f,
      version: ENTRY.exec(f)?.[1] as string,
      text: readFileSync(join(entries, f), "utf8"),
      good: /^strata-\d+\.conf$/.test(f),
    }));
  const cfg = join(device.store, "boot/grub/grub.cfg");
  if (device.esp === undefined && existsSync(cfg)) {
    const text = readFileSync(cfg, "utf8");
    for (const m of text.matchAll(/^menuentry '[^']*' --id strata-(\d+) \{\n([^}]*)\}/gm)) {
      const body = (m[2] as string)
        .replace(/^ +/gm, "")
        .replace(/^linux (\S+) /m, "linux $1\noptions ");
      found.push({
        name: `grub.cfg strata-${m[1]}`,
        version: m[1] as string,
        text: body,
        good: false,
      });
    }
    const d = /^set default=strata-(\d+)$/m.exec(text)?.[1];
    if (!d || !found.some((b) => b.name === `grub.cfg strata-${d}`))
      found.push({ name: "grub.cfg", version: d ?? "?", text: "", good: false });
  }
  return found;
}

/** What is wrong with the device, one line a problem; empty when everything it boots is whole. */
export function checkDevice(device: DeviceDirs): string[] {
  const problems: string[] = [];
  const { boot, prefix } = places(device);
  const all = bootables(device);
  if (!all.some((b) => b.good)) problems.push("no entry is known good");
  for (const b of all) {
    if (b.name === "grub.cfg") {
      problems.push(`grub.cfg: its default strata-${b.version} is not one of its entries`);
      continue;
    }
    if (!new RegExp(`(^| )strata\\.version=${b.version}( |$)`, "m").test(b.text))
      problems.push(`${b.name}: its options do not boot version ${b.version}`);
    const list = join(device.store, "versions", b.version, "layers");
    if (!existsSync(list)) {
      problems.push(`${b.name}: versions/${b.version}/layers is missing`);
      continue;
    }
    for (const d of readFileSync(list, "utf8").split("\n").filter(Boolean)) {
      if (!digestOk(join(device.store, "layers", `${d}.sqfs`), d))
        problems.push(`${b.name}: layer ${d} is missing or damaged`);
    }
    const files = [...b.text.matchAll(/^(?:linux|initrd) (\S+)$/gm)].map((m) => m[1] as string);
    if (files.length !== 2) problems.push(`${b.name}: names ${files.length} boot files, not 2`);
    for (const f of files) {
      const d = f.startsWith(prefix) ? f.slice(prefix.length) : "";
      if (!d || !digestOk(join(boot, d), d))
        problems.push(`${b.name}: boot file ${f} is missing or damaged`);
    }
  }
  return problems;
}

/**
 * Lays out, under `dir`, the store (and for UEFI the ESP) that a disk image of repository
 * version `version` holds at its first boot (src/outputs/disk/store.ts, plan.ts): that version
 * as the factory one.
 */
export function deviceFromRepo(
  repo: string,
  version: number,
  dir: string,
  boot: "uefi" | "bios" = "uefi",
): DeviceDirs & { store: string } {
  const store = join(dir, "store");
  const device: DeviceDirs = boot === "uefi" ? { store, esp: join(dir, "esp") } : { store };
  const where = places(device);
  const m = readRelease(repo, version);
  const v = join(store, "versions", String(version));
  for (const d of [join(store, "layers"), v, where.entries, where.boot])
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
    copyFileSync(join(repo, "boot", f.digest), join(where.boot, f.digest));
  const entry = {
    id: `strata-${version}`,
    title: `${m.recipe} (strata version ${version})`,
    version: String(version),
    linux: `${where.prefix}${m.vmlinuz.digest}`,
    initrd: `${where.prefix}${m.initrd.digest}`,
    options: m.cmdline,
  };
  writeFileSync(join(where.entries, `${entry.id}.conf`), loaderEntry(entry));
  if (boot === "bios") {
    mkdirSync(join(store, "boot/grub"), { recursive: true });
    writeFileSync(join(store, "boot/grub/grub.cfg"), grubConfig([entry]));
    writeFileSync(join(store, "boot/grub/grubenv"), grubEnv());
  }
  return { ...device, store };
}
