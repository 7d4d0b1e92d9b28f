/**
 * The data partition's filesystem, made and filled from a directory in one go
 * (`mkfs.ext4 -d`, `mkfs.btrfs --rootdir`), into an image file of the partition's size.
 */
import { run } from "../../host/run.js";
import type { DiskOutput } from "../../recipe/schema.js";
import { MIB } from "./layout.js";

/** Room a filesystem needs beyond its files (journal, metadata, reserved blocks). */
export function filesystemOverhead(fs: DiskOutput["filesystem"], contentBytes: number): number {
  return fs === "btrfs"
    ? Math.ceil(contentBytes * 0.3) + 256 * MIB
    : Math.ceil(contentBytes * 0.1) + 96 * MIB;
}

export async function makeFilesystem(
  fs: DiskOutput["filesystem"],
  image: string,
  bytes: number,
  label: string,
  tree: string,
  onLine?: (line: string) => void,
): Promise<void> {
  await run("truncate", ["-s", String(bytes), image]);
  if (fs === "btrfs") {
    await run("mkfs.btrfs", ["-q", "-f", "-L", label, "--rootdir", tree, image], { onLine });
    return;
  }
  // Features that older boot loaders (GRUB before 2.12) do not read are left out; no blocks
  // are reserved for root: the store is not a system disk that must survive a full /.
  await run(
    "mkfs.ext4",
    [
      "-q",
      "-F",
      "-L",
      label,
      "-m",
      "0",
      "-O",
      "^metadata_csum_seed,^orphan_file",
      "-E",
      "root_owner=0:0",
      "-d",
      tree,
      image,
    ],
    { onLine },
  );
}
