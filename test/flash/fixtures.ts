/**
 * Real images and loop devices for the flash tests: a sparse GPT image with an ext4 partition
 * (files put in by mkfs.ext4 -d) and its bmap, targets prefilled with a pattern so that
 * unwritten areas can be told apart, and loop devices that are always detached.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parseBmap, type Bmap } from "../../src/flash/bmap.js";

export const MIB = 1048576;
export const PATTERN = 0xa5;

const sh = (cmd: string, args: string[], input?: string) =>
  execFileSync(cmd, args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });

/**
 * `dir/disk.img` of `mib` MiB: GPT, one partition from 1 MiB to the end holding ext4 (label
 * strata-test) with a few files, and `disk.img.bmap` made by bmaptool.
 */
export function makeImage(dir: string, mib = 64, name = "disk.img") {
  const image = join(dir, name);
  const files = join(dir, `${name}.files`);
  mkdirSync(join(files, "etc"), { recursive: true });
  writeFileSync(join(files, "etc/hostname"), "flashed\n");
  // Random data, so a misplaced block cannot pass for a right one.
  writeFileSync(
    join(files, "payload"),
    createHash("sha512").update(name).digest().toString("hex").repeat(20000),
  );
  sh("truncate", ["-s", `${mib}M`, image]);
  sh("sfdisk", ["-q", image], "label: gpt\nstart=2048, type=linux\n");
  const partMiB = mib - 2; // GPT's backup table takes the last 33 sectors.
  sh("mkfs.ext4", [
    "-q",
    "-F",
    "-L",
    "strata-test",
    "-d",
    files,
    "-E",
    `offset=${MIB}`,
    image,
    `${partMiB}M`,
  ]);
  sh("bmaptool", ["-q", "create", "-o", `${image}.bmap`, image]);
  return image;
}

export function readBmap(image: string): Bmap {
  return parseBmap(sh("cat", [`${image}.bmap`]), `${image}.bmap`);
}

/** A file of `mib` MiB, every byte PATTERN. */
export function patternFile(path: string, mib: number): string {
  const fd = openSync(path, "w");
  try {
    const chunk = Buffer.alloc(MIB, PATTERN);
    for (let i = 0; i < mib; i++) writeFileSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
  return path;
}

export function readAt(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(length);
    const n = readSync(fd, buf, 0, length, offset);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

export const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** The sha256 of a whole file or device (for "unchanged" checks). */
export const digestOf = (path: string) => sh("sha256sum", [path]).split(" ")[0] as string;

/** Attaches a loop device on `file` (with its partitions when `partitions`). */
export function attachLoop(file: string, partitions = false): string {
  const dev = sh("losetup", ["--find", "--show", ...(partitions ? ["-P"] : []), file]).trim();
  if (partitions) {
    const name = basename(dev);
    // The kernel's scan does not always run at attach (no udev here): ask for it.
    if (!existsSync(`/sys/class/block/${name}/${name}p1`)) sh("partx", ["-a", dev]);
  }
  return dev;
}

export function detachLoop(dev: string): void {
  try {
    sh("losetup", ["-d", dev]);
  } catch {}
}

/** Runs `f` with loop devices attached by `attach`; detaches them whatever happens. */
export async function withLoops<T>(f: (attach: typeof attachLoop) => Promise<T> | T): Promise<T> {
  const attached: string[] = [];
  try {
    return await f((file, partitions) => {
      const dev = attachLoop(file, partitions);
      attached.push(dev);
      return dev;
    });
  } finally {
    for (const dev of attached.reverse()) detachLoop(dev);
  }
}

/** Mounts `dev` on a fresh directory under `dir` for `f`; unmounts whatever happens. */
export async function withMount<T>(dev: string, dir: string, f: () => Promise<T> | T): Promise<T> {
  const at = join(dir, `mnt-${basename(dev)}`);
  mkdirSync(at, { recursive: true });
  sh("mount", [dev, at]);
  try {
    return await f();
  } finally {
    sh("umount", [at]);
  }
}
