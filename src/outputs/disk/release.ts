/**
 * `<name>.release/` beside a disk image whose recipe has `update:`: the image's version as
 * `strata publish` takes it into an update repository. It holds the store's layers
 * (`layers/<sha256>.sqfs`, hard links to the cache's modules) and the boot files
 * (`boot/<sha256>`), and `release.json`: the manifest of the image's version with each file's
 * place. Publishing reads it instead of taking the image apart.
 */
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ReleaseManifest } from "../../update/manifest.js";
import type { OutputInput, StackLayer } from "../types.js";
import type { BootFiles } from "./boot-files.js";
import type { DiskOutput } from "./schema.js";
import { placeFile } from "./store.js";

export const RELEASE_JSON = "release.json";

export const releaseDirName = (name: string) => `${name}.release`;

export function writeRelease(
  input: OutputInput<DiskOutput>,
  manifest: ReleaseManifest,
  layers: readonly StackLayer[],
  files: BootFiles,
): void {
  const dir = join(input.scratch, "release");
  mkdirSync(join(dir, "layers"), { recursive: true });
  mkdirSync(join(dir, "boot"), { recursive: true });
  for (const l of layers) placeFile(l.module, join(dir, "layers", `${l.digest}.sqfs`));
  placeFile(files.vmlinuz, join(dir, "boot", manifest.vmlinuz.digest));
  placeFile(files.initrd, join(dir, "boot", manifest.initrd.digest));
  for (const f of [manifest.vmlinuz, manifest.initrd]) {
    if (statSync(join(dir, "boot", f.digest)).size !== f.bytes) throw new Error("boot file size");
  }
  writeFileSync(join(dir, RELEASE_JSON), `${JSON.stringify(manifest, null, 2)}\n`);
  const target = join(dirname(input.target), releaseDirName(input.name));
  rmSync(target, { recursive: true, force: true });
  renameSync(dir, target);
}
