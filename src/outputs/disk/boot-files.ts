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
import { copyFileFromRoot, readFileInRoot, resolveInRoot } from "../../host/in-root.js";
import type { DiskOutput } from "../../recipe/schema.js";
import { GRUB_CORE } from "./boot-layer.js";
import { SYSTEMD_BOOT } from "./esp.js";

export interface BootFiles {
  kernelVersion: string;
  vmlinuz: string;
  initrd: string;
  /** systemd-boot's EFI binary (uefi) */
  efi?: string;
  /** GRUB's boot.img and core image (bios) */
  grubBoot?: string;
  grubCore?: string;
}

/** Sorts kernel versions the way people read them: 6.12.10 after 6.12.9. */
const byVersion = (a: string, b: string) => a.localeCompare(b, "en", { numeric: true });

/**
 * Copies the kernel, initramfs and boot loader files out of the mounted stack `root`; `boot:
 * "none"` (netboot, live) takes no boot loader.
 */
export function extractBootFiles(
  root: string,
  d: { boot: DiskOutput["boot"] | "none" },
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
  }
  return files;
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
