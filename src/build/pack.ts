/**
 * Packs a directory (a layer's upper directory, whiteouts and opaque-directory xattrs intact,
 * or a bootstrapped root) into a squashfs module. mksquashfs sorts entries; every timestamp is
 * set to the build's SOURCE_DATE_EPOCH, so the same tree gives the same bytes.
 */
import { availableParallelism } from "node:os";
import { run } from "../host/run.js";
import { SQUASHFS } from "./context.js";

export async function packSquashfs(
  dir: string,
  out: string,
  epoch: number,
  onLine?: (line: string) => void,
): Promise<void> {
  await run(
    "mksquashfs",
    [
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
    ],
    { onLine },
  );
}

/** A module's digest (kept here for the layer packer; the cache checks modules with it too). */
export { fileSha256 } from "../cache/canonical.js";
