/**
 * The strata store: the data partition of a layered disk. Layers are kept once, by digest,
 * and each version names the layers it stacks, so a later version adds only the layers it
 * does not share with the ones before it.
 *
 *   layers/<sha256>.sqfs         one squashfs module per layer
 *   versions/<n>/layers          the digests of version n, bottom first (read by the boot script)
 *   versions/<n>/manifest.json   the same with layer names, kernel, initramfs, command line
 *   boot/<n>/{vmlinuz,initrd.img}, boot/grub/grub.cfg   (BIOS: GRUB reads them from here)
 *   overlay/{upper,work}         the changes of a `persistent` root (made at first boot)
 */
import { linkSync, mkdirSync, writeFileSync, copyFileSync } from "node:fs";
import { join } from "node:path";

export interface StoreLayer {
  name: string;
  /** Hex sha256 of the module */
  digest: string;
  module: string;
  bytes: number;
}

export interface VersionManifest {
  format: "strata-version/1";
  version: number;
  recipe: string;
  root: "immutable" | "persistent";
  layers: { name: string; digest: string; bytes: number }[];
  kernel: string;
  initramfs: string;
  cmdline: string;
}

/** Hard-links (or copies) a file into the tree; the cache and the tree share a filesystem. */
export function placeFile(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

/** Writes the store tree under `dir` for one version; returns the bytes of its files. */
export function writeStore(dir: string, layers: StoreLayer[], manifest: VersionManifest): number {
  mkdirSync(join(dir, "layers"), { recursive: true });
  let bytes = 0;
  for (const l of layers) {
    placeFile(l.module, join(dir, "layers", `${l.digest}.sqfs`));
    bytes += l.bytes;
  }
  const v = join(dir, "versions", String(manifest.version));
  mkdirSync(v, { recursive: true });
  writeFileSync(join(v, "layers"), `${layers.map((l) => l.digest).join("\n")}\n`);
  writeFileSync(join(v, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return bytes;
}
