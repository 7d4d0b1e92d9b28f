/**
 * What `strata flash` may write to, decided before anything is written. A target is refused
 * when it is not a block device (unless --force-file, and then only a regular file), when it or
 * one of its partitions is mounted, used as swap or held by another device (a loop or dm device
 * on top), when it is the disk of the running system's `/`, `/boot`, `/boot/efi` or `/efi`, and
 * when it is smaller than the image.
 *
 * Everything is read from /proc/self/mountinfo, /proc/swaps and /sys, whose paths are
 * parameters: unit tests give it a fake tree. Nothing here relies on udev (/dev/disk/by-*).
 */
import {
  existsSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  statSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { StrataError } from "../errors.js";
import { run } from "../host/run.js";
import { requireTools } from "../host/tools.js";

export interface SystemPaths {
  mountinfo: string;
  swaps: string;
  sys: string;
}

export const SYSTEM_PATHS: SystemPaths = {
  mountinfo: "/proc/self/mountinfo",
  swaps: "/proc/swaps",
  sys: "/sys",
};

/** Mount points whose disk runs this system: writing over it would wreck it or its boot. */
export const SYSTEM_MOUNTS = ["/", "/boot", "/boot/efi", "/efi"];

export interface BlockDevice {
  /** The device's name in /sys/class/block, e.g. sdb, loop3, mmcblk0. */
  name: string;
  /** The whole disk it is on: itself, or the parent of a partition. */
  disk: string;
  bytes: number;
  /** Its partitions (names), when it is a whole disk. */
  partitions: string[];
}

export type Target =
  | { kind: "block"; path: string; bytes: number; device: BlockDevice }
  | { kind: "file"; path: string; bytes: number; exists: boolean };

export interface Mount {
  /** `major:minor` of the mounted filesystem's device (0:N for btrfs and virtual ones). */
  majmin: string;
  mountPoint: string;
  source: string;
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

/** mountinfo and /proc/swaps write a space as \040 (octal escapes). */
const unescape = (s: string) =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function readMounts(file: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const fields = line.split(" ");
    const dash = fields.indexOf("-");
    if (fields.length < 5 || dash < 0) continue;
    mounts.push({
      majmin: fields[2] as string,
      mountPoint: unescape(fields[4] as string),
      source: unescape(fields[dash + 2] ?? ""),
    });
  }
  return mounts;
}

/** A view of one sysfs tree: names of block devices and how they relate. */
export class Sysfs {
  constructor(readonly root: string) {}

  private dir(name: string): string {
    return join(this.root, "class/block", name);
  }

  private read(name: string, file: string): string | undefined {
    try {
      return readFileSync(join(this.dir(name), file), "utf8").trim();
    } catch {
      return undefined;
    }
  }

  exists(name: string): boolean {
    return name !== "" && existsSync(this.dir(name));
  }

  /** The name of the block device with this `major:minor`, if there is one. */
  nameOf(majmin: string): string | undefined {
    try {
      return basename(readlinkSync(join(this.root, "dev/block", majmin)));
    } catch {
      return undefined;
    }
  }

  /** A partition's disk is the directory its own directory sits in (…/block/sda/sda1). */
  diskOf(name: string): string {
    if (this.read(name, "partition") === undefined) return name;
    try {
      return basename(dirname(realpathSync(this.dir(name))));
    } catch {
      return name;
    }
  }

  partitionsOf(name: string): string[] {
    let entries: string[] = [];
    try {
      entries = readdirSync(realpathSync(this.dir(name)));
    } catch {}
    return entries.filter((e) => existsSync(join(this.dir(name), e, "partition"))).sort();
  }

  private list(name: string, what: "holders" | "slaves"): string[] {
    try {
      return readdirSync(join(this.dir(name), what)).sort();
    } catch {
      return [];
    }
  }

  holders(name: string): string[] {
    return this.list(name, "holders");
  }

  /** The disks under a device: itself, or for dm/md what it is made of, down to disks. */
  disksUnder(name: string, seen = new Set<string>()): Set<string> {
    if (seen.has(name)) return new Set();
    seen.add(name);
    const slaves = this.list(name, "slaves");
    if (slaves.length === 0) return new Set([this.diskOf(name)]);
    const disks = new Set<string>();
    for (const s of slaves) for (const d of this.disksUnder(s, seen)) disks.add(d);
    return disks;
  }

  bytes(name: string): number {
    return Number(this.read(name, "size") ?? 0) * 512;
  }

  /** Vendor and model (USB and SCSI disks have them; loop devices do not). */
  model(name: string): string | undefined {
    const words = [this.read(name, "device/vendor"), this.read(name, "device/model")];
    const text = words.filter(Boolean).join(" ").replace(/\s+/g, " ").trim();
    return text || undefined;
  }
}

/**
 * The block device a mount or swap entry is on: by `major:minor`, else by its source path
 * (`/dev/mapper/x` resolves to dm-N on the real system; a fake tree names it directly).
 */
function deviceName(sys: Sysfs, source: string, majmin?: string): string | undefined {
  const byNumber = majmin ? sys.nameOf(majmin) : undefined;
  if (byNumber) return byNumber;
  if (!source.startsWith("/dev/")) return undefined;
  let path = source;
  try {
    path = realpathSync(source);
  } catch {}
  const name = basename(path);
  return sys.exists(name) ? name : undefined;
}

function readSwaps(file: string): string[] {
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {}
  return text
    .split("\n")
    .slice(1)
    .map((l) => unescape(l.split(/\s+/)[0] ?? ""))
    .filter(Boolean);
}

/** The disks the running system's root and boot loader are on. */
export function systemDisks(paths: SystemPaths = SYSTEM_PATHS): Map<string, string> {
  const sys = new Sysfs(paths.sys);
  const disks = new Map<string, string>();
  for (const m of readMounts(paths.mountinfo)) {
    if (!SYSTEM_MOUNTS.includes(m.mountPoint)) continue;
    const name = deviceName(sys, m.source, m.majmin);
    if (!name) continue;
    for (const d of sys.disksUnder(name)) if (!disks.has(d)) disks.set(d, m.mountPoint);
  }
  return disks;
}

function refuse(code: "E_FLASH_BUSY" | "E_FLASH_SYSTEM_DISK", message: string, hint: string) {
  return new StrataError(code, message, { hint });
}

/**
 * Checks the block device `majmin` (what `path` is) for `imageBytes` of image, throwing the
 * first refusal; returns what it found.
 */
export function checkBlockDevice(
  path: string,
  majmin: string,
  imageBytes: number,
  paths: SystemPaths = SYSTEM_PATHS,
): BlockDevice {
  const sys = new Sysfs(paths.sys);
  const name = sys.nameOf(majmin);
  if (!name || !sys.exists(name)) {
    throw new StrataError("E_FLASH_NOT_BLOCK", `${path} (${majmin}) is not in ${paths.sys}`, {
      hint: "is sysfs mounted? name the disk by its /dev path, e.g. /dev/sdb",
    });
  }
  const disk = sys.diskOf(name);
  const partitions = disk === name ? sys.partitionsOf(name) : [];
  const device: BlockDevice = { name, disk, bytes: sys.bytes(name), partitions };

  const system = systemDisks(paths);
  const mountPoint = system.get(disk);
  if (mountPoint !== undefined) {
    throw refuse(
      "E_FLASH_SYSTEM_DISK",
      `${path} is on ${disk}, the disk that holds this system's ${mountPoint}`,
      "name the card or USB disk to write (see `lsblk`); strata never writes the running system's disk",
    );
  }

  const mounts = readMounts(paths.mountinfo);
  const swaps = readSwaps(paths.swaps);
  for (const n of [name, ...partitions]) {
    const mounted = mounts.filter((m) => deviceName(sys, m.source, m.majmin) === n);
    if (mounted.length > 0) {
      throw refuse(
        "E_FLASH_BUSY",
        `${path}: ${n} is mounted on ${mounted.map((m) => m.mountPoint).join(", ")}`,
        `unmount it first (umount ${mounted[0]?.mountPoint})`,
      );
    }
    const swap = swaps.find((s) => deviceName(sys, s) === n);
    if (swap) {
      throw refuse("E_FLASH_BUSY", `${path}: ${n} is in use as swap`, `swapoff ${swap}`);
    }
    const holders = sys.holders(n);
    if (holders.length > 0) {
      throw refuse(
        "E_FLASH_BUSY",
        `${path}: ${n} is held by ${holders.join(", ")} (a device built on it)`,
        `release it first (losetup -d / dmsetup remove / mdadm --stop for ${holders.join(", ")})`,
      );
    }
  }

  if (device.bytes < imageBytes) {
    throw new StrataError(
      "E_FLASH_TOO_SMALL",
      `${path} has ${device.bytes} bytes (${mib(device.bytes)}), the image ${imageBytes} (${mib(imageBytes)})`,
      { hint: "use a card or disk at least as large as the image" },
    );
  }
  return device;
}

/** `major:minor` of a block device node, from its st_rdev (glibc's encoding). */
export function majorMinor(rdev: bigint): string {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/** Inspects what `path` is and refuses what must not be written; nothing is opened. */
export function inspectTarget(
  path: string,
  imageBytes: number,
  options: { forceFile?: boolean; paths?: SystemPaths } = {},
): Target {
  let stat;
  try {
    stat = statSync(path, { bigint: true });
  } catch {
    stat = undefined;
  }
  if (stat?.isBlockDevice()) {
    const device = checkBlockDevice(path, majorMinor(stat.rdev), imageBytes, options.paths);
    return { kind: "block", path, bytes: device.bytes, device };
  }
  const what = !stat
    ? "does not exist"
    : stat.isFile()
      ? "is a regular file"
      : stat.isDirectory()
        ? "is a directory"
        : stat.isCharacterDevice()
          ? "is a character device"
          : "is not a block device";
  if (options.forceFile && (!stat || stat.isFile())) {
    return { kind: "file", path, bytes: stat ? Number(stat.size) : 0, exists: stat !== undefined };
  }
  throw new StrataError("E_FLASH_NOT_BLOCK", `${path} ${what}, not a block device`, {
    hint:
      options.forceFile || (stat && !stat.isFile())
        ? "name a card or USB disk, e.g. /dev/sdb (see `lsblk`); --force-file writes only regular files"
        : "name a card or USB disk, e.g. /dev/sdb (see `lsblk`); --force-file writes a regular file",
  });
}

/** The device's node in /dev: devtmpfs names it as sysfs does (`!` stands for `/`). */
export const devPath = (name: string) => `/dev/${name.replaceAll("!", "/")}`;

/** What the prompt shows: the device, its model and size, and each partition's filesystem. */
export async function describeDevice(
  device: BlockDevice,
  paths: SystemPaths = SYSTEM_PATHS,
): Promise<string[]> {
  if (device.partitions.length > 0) requireTools(["blkid"]);
  const sys = new Sysfs(paths.sys);
  const model = sys.model(device.name);
  const lines = [`${devPath(device.name)}: ${model ? `${model}, ` : ""}${mib(device.bytes)}`];
  for (const p of device.partitions) {
    // -p probes the device itself (no cache); exit 2 means no filesystem was found.
    const r = await run("blkid", ["-p", "-o", "export", devPath(p)], { reject: false });
    const tags = Object.fromEntries(
      r.stdout
        .split("\n")
        .map((l) => l.split("="))
        .filter((kv) => kv.length >= 2)
        .map(([k, ...v]) => [k as string, v.join("=")]),
    );
    const fs = tags.TYPE ?? (r.exitCode === 2 ? "no filesystem" : "unknown");
    const label = tags.LABEL ? ` "${tags.LABEL}"` : "";
    lines.push(`  ${p.padEnd(12)} ${mib(sys.bytes(p)).padStart(12)}  ${fs}${label}`);
  }
  if (device.partitions.length === 0) lines.push("  (no partitions)");
  return lines;
}
