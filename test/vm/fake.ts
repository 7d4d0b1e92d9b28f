/**
 * Puts the FAKE qemu-system-x86_64 / qemu-system-aarch64 (fake-qemu.ts) first in a PATH, for
 * unit tests of the machine and the commands without a real guest, plus small helpers to find
 * processes and temporary files the tests must not leave behind.
 */
import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const FAKE = join(dirname(fileURLToPath(import.meta.url)), "fake-qemu.js");

/** Writes the fake binaries into `dir`/bin; returns that directory (to prepend to PATH). */
export function installFakeQemu(dir: string): string {
  const bin = join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  for (const name of ["qemu-system-x86_64", "qemu-system-aarch64"]) {
    writeFileSync(join(bin, name), `#!/bin/sh\nexec "${process.execPath}" "${FAKE}" "$@"\n`);
    chmodSync(join(bin, name), 0o755);
  }
  return bin;
}

/** PIDs of live processes whose command line contains `text`. */
export function processesWith(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    if (Number(pid) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cmd.includes(text)) found.push(`${pid}: ${cmd}`);
    } catch {}
  }
  return found;
}

/** Entries of `dir` whose names start with `prefix`. */
export function entriesWith(dir: string, prefix: string): string[] {
  return readdirSync(dir).filter((n) => n.startsWith(prefix));
}

/** A sparse raw "image" of `bytes` and, unless `sidecar` is false, its strata-disk/1 sidecar. */
export function fakeImage(
  dir: string,
  sidecar: Record<string, unknown> | false = {},
  bytes = 64 * 1024 * 1024,
): string {
  const image = join(dir, "fake.img");
  writeFileSync(image, "not really a disk");
  truncateSync(image, bytes);
  if (sidecar !== false) {
    writeFileSync(
      `${image}.json`,
      JSON.stringify({
        format: "strata-disk/1",
        arch: "amd64",
        boot: "bios",
        table: "mbr",
        filesystem: "ext4",
        root: "flat",
        bytes,
        console: "ttyS0",
        ...sidecar,
      }),
    );
  }
  return image;
}
