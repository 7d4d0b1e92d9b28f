/**
 * The disk a VM boots. By default a copy of the built image, so the build output stays as it
 * was built: `cp --sparse=always --reflink=auto` shares blocks where the filesystem can and
 * otherwise copies only the data, so a mostly empty image copies quickly. A larger size grows
 * the copy (sparse), and a GPT's backup header is moved to the new end of the disk
 * (`sfdisk --relocate gpt-bak-std`) so the guest sees a valid table it can grow into.
 */
import { closeSync, openSync, readSync, statSync, truncateSync } from "node:fs";
import { basename, join } from "node:path";
import { StrataError } from "../errors.js";
import { run } from "../host/run.js";
import { requireTools } from "../host/tools.js";

export interface BootDiskOptions {
  /** Boot a copy made in `dir` (default true); false boots `image` itself. */
  copy?: boolean;
  /** Directory for the copy. */
  dir: string;
  /** Grow the disk to this many bytes. */
  sizeBytes?: number;
}

/** Whether `path` holds a GPT (the "EFI PART" signature in LBA 1). */
export function hasGpt(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(8);
    return readSync(fd, buf, 0, 8, 512) === 8 && buf.toString("latin1") === "EFI PART";
  } finally {
    closeSync(fd);
  }
}

export function imageSize(path: string): number {
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new Error("not a file");
    return st.size;
  } catch {
    throw new StrataError("E_USAGE", `no disk image at ${path}`, {
      hint: "pass an image built by a `type: disk` output (<out>/<name>.img), or a recipe",
    });
  }
}

/** Returns the path to boot. */
export async function prepareBootDisk(image: string, options: BootDiskOptions): Promise<string> {
  const size = imageSize(image);
  if (options.sizeBytes !== undefined && options.sizeBytes < size) {
    throw new StrataError(
      "E_USAGE",
      `--disk-size ${options.sizeBytes} is smaller than the image (${size} bytes)`,
      { hint: "a disk can only grow; omit --disk-size to boot the image's own size" },
    );
  }
  let disk = image;
  if (options.copy !== false) {
    disk = join(options.dir, basename(image));
    await run("cp", ["--sparse=always", "--reflink=auto", "--", image, disk]);
  }
  if (options.sizeBytes !== undefined && options.sizeBytes > size) {
    truncateSync(disk, options.sizeBytes);
    if (hasGpt(disk)) {
      requireTools(["sfdisk"]);
      await run("sfdisk", ["--quiet", "--relocate", "gpt-bak-std", disk]);
    }
  }
  return disk;
}
