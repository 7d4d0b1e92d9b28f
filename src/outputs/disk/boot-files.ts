/**
 * The files a disk needs from its stacked layers, copied out of the mounted stack: the newest
 * kernel and its initramfs (made by the boot layer), and the boot loader's files (systemd-boot's
 * EFI binary, or GRUB's boot.img and the core image the boot layer made).
 *
 * Every path is resolved inside the stack's tree (src/host/in-root.ts): a layer's
 * `/boot/vmlinuz-x -> /etc/shadow` reads the image's own /etc/shadow (or fails, naming the
 * file), never the build host's, and only regular files are read.
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { StrataError } from "../../errors.js";
import {
  copyFileFromRoot,
  readFileInRoot,
  resolveInRoot,
  tryReadFileInRoot,
} from "../../host/in-root.js";
import { BOARD_INFO, dtbDir, missingKernelOptions, RPI_FIRMWARE_DIR } from "./board.js";
import { GRUB_CORE } from "./boot-layer.js";
import { SYSTEMD_BOOT } from "./esp.js";
import type { Board, DiskSettings } from "./schema.js";

export interface BootFiles {
  kernelVersion: string;
  vmlinuz: string;
  initrd: string;
  /** systemd-boot's EFI binary (uefi) */
  efi?: string;
  /** GRUB's boot.img and core image (bios) */
  grubBoot?: string;
  grubCore?: string;
  /** A Raspberry Pi's firmware, device trees and overlays: host files and their boot-partition paths */
  board?: { from: string; to: string }[];
}

/** Sorts kernel versions the way people read them: 6.12.10 after 6.12.9. */
const byVersion = (a: string, b: string) => a.localeCompare(b, "en", { numeric: true });

/**
 * Copies the kernel, initramfs and boot loader files out of the mounted stack `root`; `boot:
 * "none"` (netboot, live) takes no boot loader.
 */
export function extractBootFiles(
  root: string,
  d: { boot: DiskSettings["boot"] | "none"; board?: Board },
  arch: string,
  dir: string,
): BootFiles {
  mkdirSync(dir, { recursive: true });
  const boot = resolveInRoot(root, "/boot");
  const names = boot.stat?.isDirectory() ? readdirSync(boot.path) : [];
  const versions = names
    .filter((f) => /^vmlinu[xz]-/.test(f))
    .map((f) => f.replace(/^vmlinu[xz]-/, ""))
    .sort(byVersion);
  const kernelVersion = versions.at(-1);
  if (!kernelVersion) {
    throw new StrataError("E_NO_KERNEL", "the boot layer found no kernel in /boot", {
      hint: `install linux-image-${arch} in one of the output's layers`,
    });
  }
  const kernelFile = names.find((f) =>
    new RegExp(`^vmlinu[xz]-${kernelVersion.replace(/[.+]/g, "\\$&")}$`).test(f),
  ) as string;
  const files: BootFiles = {
    kernelVersion,
    vmlinuz: join(dir, "vmlinuz"),
    initrd: join(dir, "initrd.img"),
  };
  const kernel = readFileInRoot(root, `/boot/${kernelFile}`);
  // systemd-boot starts the kernel's EFI stub, which a gzip-compressed arm64 Image lacks.
  const gzip = kernel[0] === 0x1f && kernel[1] === 0x8b;
  writeFileSync(files.vmlinuz, gzip && arch === "arm64" ? gunzipSync(kernel) : kernel);
  copyFileFromRoot(root, `/boot/initrd.img-${kernelVersion}`, files.initrd);
  if (d.boot === "uefi") {
    const name = SYSTEMD_BOOT[arch as keyof typeof SYSTEMD_BOOT];
    files.efi = join(dir, name);
    copyFileFromRoot(root, `/usr/lib/systemd/boot/efi/${name}`, files.efi);
  } else if (d.boot === "bios") {
    files.grubBoot = join(dir, "boot.img");
    files.grubCore = join(dir, "core.img");
    copyFileFromRoot(root, "/usr/lib/grub/i386-pc/boot.img", files.grubBoot);
    copyFileFromRoot(root, GRUB_CORE, files.grubCore);
  } else if (d.boot === "rpi" && d.board) {
    files.board = boardFiles(root, d.board, kernelVersion, join(dir, "board"));
  }
  return files;
}

/** The names of the regular files of directory `path` inside `root` that match `pattern`. */
function filesIn(root: string, path: string, pattern: RegExp): string[] {
  const r = resolveInRoot(root, path);
  if (!r.stat?.isDirectory()) return [];
  return readdirSync(r.path)
    .filter((f) => pattern.test(f))
    .sort();
}

/**
 * A Pi's boot-partition files, copied out of the boot layer: the firmware (raspi-firmware),
 * the kernel's device trees for the board's family, and raspi-firmware's overlays. Refuses a
 * kernel that could not read the board's SD card (E_BOARD_KERNEL).
 */
function boardFiles(
  root: string,
  board: Board,
  kernelVersion: string,
  dir: string,
): { from: string; to: string }[] {
  const info = BOARD_INFO[board];
  const config = tryReadFileInRoot(root, `/boot/config-${kernelVersion}`)?.toString("utf8");
  const missing = config === undefined ? [] : missingKernelOptions(config, info.kernelNeeds);
  if (missing.length > 0) {
    throw new StrataError(
      "E_BOARD_KERNEL",
      `the kernel ${kernelVersion} cannot boot a ${info.title} from its SD card: its config has none of ${missing.join(", ")}`,
      {
        hint: "use a kernel built with that SD host driver (e.g. from a newer suite or backports), or another board",
      },
    );
  }
  mkdirSync(join(dir, "overlays"), { recursive: true });
  const out: { from: string; to: string }[] = [];
  const take = (path: string, to: string) => {
    const from = join(dir, to);
    copyFileFromRoot(root, path, from);
    out.push({ from, to: `/${to}` });
  };
  for (const f of info.firmware) take(`${RPI_FIRMWARE_DIR}/${f}`, f);
  const dtbs = filesIn(root, dtbDir(kernelVersion), info.dtbPattern);
  if (!dtbs.includes(info.dtb)) {
    throw new StrataError(
      "E_BOARD_KERNEL",
      `the kernel ${kernelVersion} has no device tree ${info.dtb} for a ${info.title} in ${dtbDir(kernelVersion)}`,
      { hint: "use Debian's linux-image-arm64, which carries the Raspberry Pi device trees" },
    );
  }
  for (const f of dtbs) take(`${dtbDir(kernelVersion)}/${f}`, f);
  for (const f of filesIn(root, `${RPI_FIRMWARE_DIR}/overlays`, /\.dtbo$/))
    take(`${RPI_FIRMWARE_DIR}/overlays/${f}`, `overlays/${f}`);
  return out;
}

/**
 * The boot layer sits on the kernel's layer; a layer above it must not have swapped the
 * kernel, or the initramfs would not match the modules the output boots with.
 */
export function checkKernelInTop(
  what: string,
  kernelVersion: string,
  kernelLayer: string | undefined,
  top: { name: string; packages: readonly { name: string }[] } | undefined,
): void {
  if (!top || top.packages.some((p) => p.name.startsWith(`linux-image-${kernelVersion}`))) return;
  throw new StrataError(
    "E_NO_KERNEL",
    `${what}: the kernel ${kernelVersion} of layer '${kernelLayer}' is not installed in its top layer '${top.name}'`,
    { hint: "install, upgrade or remove kernels in the layer that first installs the kernel" },
  );
}
