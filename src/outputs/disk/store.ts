/**
 * The strata store: the data partition of a layered disk. Layers are kept once, by digest,
 * and each version names the layers it stacks, so a later version adds only the layers it
 * does not share with the ones before it.
 *
 *   layers/<sha256>.sqfs         one squashfs module per layer
 *   versions/<n>/layers          the digests of version n, bottom first (read by the boot script)
 *   versions/<n>/manifest.json   the release manifest (src/update/manifest.ts): layer names and
 *                                digests, kernel and initramfs digests, command line
 *   versions/<n>/factory         the version the image was built with (never collected)
 *   boot/<n>/{vmlinuz,initrd.img}, boot/grub/grub.cfg   (BIOS: GRUB reads them from here;
 *                                with `update:` boot/<sha256> and boot/grub/grubenv, and the
 *                                agent's entries in update/entries/, see strata-update)
 *   overlay/<n>/{upper,work}     the changes of version n of a `persistent` root (first boot)
 *   data/<path>                  a persistent root's shared data directories (`update.data`)
 */
import { linkSync, mkdirSync, writeFileSync, copyFileSync } from "node:fs";
import { join } from "node:path";
import { type ReleaseManifest, serializeManifest } from "../../update/manifest.js";

export interface StoreLayer {
  name: string;
  /** Hex sha256 of the module */
  digest: string;
  module: string;
  bytes: number;
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
export function writeStore(dir: string, layers: StoreLayer[], manifest: ReleaseManifest): number {
  mkdirSync(join(dir, "layers"), { recursive: true });
  let bytes = 0;
  for (const l of layers) {
    placeFile(l.module, join(dir, "layers", `${l.digest}.sqfs`));
    bytes += l.bytes;
  }
  const v = join(dir, "versions", String(manifest.version));
  mkdirSync(v, { recursive: true });
  writeFileSync(join(v, "layers"), `${layers.map((l) => l.digest).join("\n")}\n`);
  writeFileSync(join(v, "manifest.json"), serializeManifest(manifest));
  writeFileSync(join(v, "factory"), "");
  return bytes;
}
