/**
 * Packs a directory (a layer's upper directory, whiteouts and opaque-directory xattrs intact,
 * or a bootstrapped root) into a squashfs module. mksquashfs sorts entries; every timestamp is
 * set to the build's SOURCE_DATE_EPOCH, so the same tree gives the same bytes.
 */
import { availableParallelism } from "node:os";
import { run } from "../host/run.js";
import { SQUASHFS } from "./context.js";

/** mksquashfs's arguments for packing `dir` into `out` as strata packs every module. */
export function squashfsArgs(dir: string, out: string, epoch: number): string[] {
  return [
    dir,
    out,
    "-noappend",
    "-comp",
    SQUASHFS.compression,
    "-Xcompression-level",
    String(SQUASHFS.level),
    "-all-time",
    String(epoch),
    "-mkfs-time",
    String(epoch),
    "-processors",
    String(availableParallelism()),
    "-no-progress",
    "-quiet",
  ];
}

export async function packSquashfs(
  dir: string,
  out: string,
  epoch: number,
  onLine?: (line: string) => void,
): Promise<void> {
  await run("mksquashfs", squashfsArgs(dir, out, epoch), { onLine });
}

/** A module's digest (kept here for the layer packer; the cache checks modules with it too). */
export { fileSha256 } from "../cache/canonical.js";
