/**
 * Packs a directory (a layer's upper directory, whiteouts and opaque-directory xattrs intact,
 * or a bootstrapped root) into a squashfs module. mksquashfs sorts entries; every timestamp is
 * set to the build's SOURCE_DATE_EPOCH, so the same tree gives the same bytes.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
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

export async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
