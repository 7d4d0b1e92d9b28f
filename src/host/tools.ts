/**
 * Every host tool strata runs, with the Debian package that provides it, so that a missing
 * tool is reported with the exact `apt-get install` line. `strata doctor` checks them all.
 */
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { StrataError } from "../errors.js";

export interface Tool {
  command: string;
  package: string;
  why: string;
}

export const TOOLS = {
  mmdebstrap: { command: "mmdebstrap", package: "mmdebstrap", why: "bootstraps the first layer" },
  bwrap: { command: "bwrap", package: "bubblewrap", why: "isolates each build step" },
  mksquashfs: { command: "mksquashfs", package: "squashfs-tools", why: "packs layers" },
  unsquashfs: { command: "unsquashfs", package: "squashfs-tools", why: "reads layers" },
  unshare: { command: "unshare", package: "util-linux", why: "private mount namespace" },
  nsenter: { command: "nsenter", package: "util-linux", why: "enters the build namespace" },
  setpriv: { command: "setpriv", package: "util-linux", why: "ties mounts to strata's life" },
  flock: { command: "flock", package: "util-linux", why: "locks the layer cache" },
  ip: { command: "ip", package: "iproute2", why: "brings up the build namespace's loopback" },
  mount: { command: "mount", package: "mount", why: "overlayfs and squashfs mounts" },
  umount: { command: "umount", package: "mount", why: "unmounts" },
  tar: { command: "tar", package: "tar", why: "the tar and oci outputs" },
  zstd: { command: "zstd", package: "zstd", why: "compresses tar outputs and OCI layers" },
  gzip: { command: "gzip", package: "gzip", why: "compresses tar outputs and OCI layers" },
  getfattr: {
    command: "getfattr",
    package: "attr",
    why: "finds a layer's opaque directories (the oci output)",
  },
  aptConfig: { command: "apt-config", package: "apt", why: "reads the host's apt cache path" },
  aptGet: { command: "apt-get", package: "apt", why: "reads the host's default mirror" },
  qemuAarch64: {
    command: "qemu-aarch64-static",
    package: "qemu-user-static",
    why: "runs arm64 build steps on another architecture",
  },
  qemuArm: {
    command: "qemu-arm-static",
    package: "qemu-user-static",
    why: "runs armhf build steps on another architecture",
  },
  mkfsExt4: { command: "mkfs.ext4", package: "e2fsprogs", why: "ext4 store/root partitions" },
  mkfsBtrfs: { command: "mkfs.btrfs", package: "btrfs-progs", why: "btrfs store/root partitions" },
  mkfsVfat: { command: "mkfs.vfat", package: "dosfstools", why: "EFI system partitions" },
  xorriso: { command: "xorriso", package: "xorriso", why: "ISO images" },
  mcopy: { command: "mcopy", package: "mtools", why: "fills FAT partitions without mounting" },
  mmd: { command: "mmd", package: "mtools", why: "makes directories on FAT partitions" },
  sfdisk: { command: "sfdisk", package: "fdisk", why: "partitions disk images" },
  skopeo: {
    command: "skopeo",
    package: "skopeo",
    why: "pushes and pulls cached layers to and from an OCI registry",
  },
  bmaptool: {
    command: "bmaptool",
    package: "bmap-tools",
    why: "writes .bmap files beside disk images",
  },
  blkid: {
    command: "blkid",
    package: "util-linux",
    why: "names the filesystems on a device strata flash asks about",
  },
  blockdev: {
    command: "blockdev",
    package: "util-linux",
    why: "drops a device's page cache before strata flash verifies it",
  },
  gpg: { command: "gpg", package: "gpg", why: "makes and uses update signing keys" },
  gpgAgent: { command: "gpg-agent", package: "gpg-agent", why: "holds update signing keys" },
  gpgv: { command: "gpgv", package: "gpgv", why: "checks update signatures" },
  qemuX86: {
    command: "qemu-system-x86_64",
    package: "qemu-system-x86",
    why: "boots amd64 images (strata run, strata test)",
  },
  qemuSystemArm: {
    command: "qemu-system-aarch64",
    package: "qemu-system-arm",
    why: "boots arm64 images (strata run, strata test)",
  },
} as const satisfies Record<string, Tool>;

/** Firmware files that `strata run` boots UEFI images with, and their packages. */
export const FIRMWARE = {
  amd64: {
    package: "ovmf",
    code: ["/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_CODE.fd"],
    vars: ["/usr/share/OVMF/OVMF_VARS_4M.fd", "/usr/share/OVMF/OVMF_VARS.fd"],
  },
  arm64: {
    package: "qemu-efi-aarch64",
    code: ["/usr/share/AAVMF/AAVMF_CODE.fd"],
    vars: ["/usr/share/AAVMF/AAVMF_VARS.fd"],
  },
} as const;

export type ToolName = keyof typeof TOOLS;

export function which(command: string): string | undefined {
  const path = process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin";
  for (const dir of [...path.split(delimiter), "/usr/sbin", "/sbin"]) {
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/** Throws one error naming every missing tool and the packages that bring them. */
export function requireTools(names: readonly ToolName[]): void {
  const missing = names.map((n) => TOOLS[n]).filter((t) => !which(t.command));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((t) => t.package))];
  throw new StrataError(
    "E_TOOL_MISSING",
    `missing host tools: ${missing.map((t) => `${t.command} (package ${t.package})`).join(", ")}`,
    { hint: `apt-get install ${packages.join(" ")}` },
  );
}

export interface KernelFeature {
  name: string;
  ok: () => boolean;
  hint: string;
}

const filesystems = (): string => {
  try {
    return readFileSync("/proc/filesystems", "utf8");
  } catch {
    return "";
  }
};
const hasFs = (fs: string) => new RegExp(`\\s${fs}$`, "m").test(filesystems());

export const KERNEL_FEATURES: KernelFeature[] = [
  { name: "overlay", ok: () => hasFs("overlay"), hint: "modprobe overlay" },
  { name: "squashfs", ok: () => hasFs("squashfs"), hint: "modprobe squashfs" },
  { name: "loop devices", ok: () => existsSync("/dev/loop-control"), hint: "modprobe loop" },
  { name: "binfmt_misc", ok: () => hasFs("binfmt_misc"), hint: "modprobe binfmt_misc" },
];

export function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new StrataError("E_NOT_ROOT", "building needs root (mounts, chroots, device nodes)", {
      hint: "run strata as root, e.g. with sudo",
    });
  }
}

export function requireKernel(names: readonly string[]): void {
  const bad = KERNEL_FEATURES.filter((f) => names.includes(f.name) && !f.ok());
  if (bad.length === 0) return;
  throw new StrataError(
    "E_KERNEL_FEATURE",
    `the kernel lacks: ${bad.map((f) => f.name).join(", ")}`,
    { hint: bad.map((f) => f.hint).join("; ") },
  );
}
