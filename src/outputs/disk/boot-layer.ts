/**
 * The boot layer: a layer a disk output adds to the build plan, sitting on the layer that
 * installs the kernel (the lowest layer of the output's stack that names a `linux-image-*`
 * package; the top layer when none names one). It is made of ordinary recipe steps, so it is
 * built in the sandbox and cached like any other layer. It installs what booting needs from
 * the image's own distribution (so an arm64 image gets arm64 tools): initramfs-tools with the
 * strata boot script and first-boot growth scripts, sfdisk, the store's filesystem tools, and
 * the boot loader's files (systemd-boot's EFI binary, or GRUB's i386-pc core image); then it
 * makes the initramfs of every installed kernel.
 *
 * The layer is never part of the image: the disk takes the kernel, the initramfs and the boot
 * loader's files out of it and boots the output's own layers. So its key depends on the
 * kernel's layer and below and on the boot scripts only: a change to an application layer
 * rebuilds neither the boot layer nor the initramfs, and the initramfs of two versions that
 * differ only above the kernel is byte for byte the same file (an update does not fetch it).
 * Packages that add to the initramfs (cryptsetup-initramfs, plymouth...) belong in the
 * kernel's layer or below it.
 */
import { readFileSync } from "node:fs";
import type { ResolvedLayer } from "../../recipe/graph.js";
import { bootstrapPackages, type Step } from "../../recipe/schema.js";
import { addedLayer } from "../added-layer.js";
import type { DiskSettings } from "./schema.js";

const ASSETS = new URL("../../../../assets/initramfs-tools/", import.meta.url);

/** The initramfs-tools files strata installs, by their path in the image. */
export const INITRAMFS_FILES = [
  { asset: "hooks/strata", path: "/usr/share/initramfs-tools/hooks/strata", mode: "0755" },
  { asset: "scripts/strata", path: "/usr/share/initramfs-tools/scripts/strata", mode: "0644" },
  {
    asset: "scripts/strata-functions",
    path: "/usr/share/initramfs-tools/scripts/strata-functions",
    mode: "0644",
  },
  {
    asset: "scripts/local-premount/strata-grow",
    path: "/usr/share/initramfs-tools/scripts/local-premount/strata-grow",
    mode: "0755",
  },
  {
    asset: "scripts/local-bottom/strata-grow",
    path: "/usr/share/initramfs-tools/scripts/local-bottom/strata-grow",
    mode: "0755",
  },
] as const;

/** Where the boot layer leaves GRUB's core image for the disk assembly to embed. */
export const GRUB_CORE = "/usr/lib/grub/i386-pc/strata-core.img";
/** Filesystem labels the boot loader and the boot script look for. */
export const STORE_LABEL = "strata-store";
export const ROOT_LABEL = "strata-root";
export const ESP_LABEL = "STRATA-ESP";
export const RPI_BOOT_LABEL = "STRATA-BOOT";
/** The role under which a disk finds its boot layer's stack (OutputInput.added). */
export const BOOT_ROLE = "boot";

export type BootSettings = Pick<DiskSettings, "boot" | "filesystem" | "root" | "table">;

/** The boot loader's package: systemd-boot, GRUB, or the Raspberry Pi's firmware. */
const LOADER_PACKAGE = { uefi: "systemd-boot-efi", bios: "grub-pc-bin", rpi: "raspi-firmware" };

export function bootPackages(disk: BootSettings): string[] {
  const packages = ["initramfs-tools", "fdisk", "e2fsprogs"];
  if (disk.filesystem === "btrfs") packages.push("btrfs-progs");
  packages.push(LOADER_PACKAGE[disk.boot]);
  return packages;
}

/**
 * raspi-firmware's maintainer scripts copy the firmware into /boot/firmware and refuse to run
 * when that is not a mount point, unless `ischroot` says they run in a chroot. The sandbox is
 * one, though ischroot cannot tell (it has its own PID 1): it is told so while the package is
 * installed, then put back. The boot layer is never booted; the disk takes the firmware from
 * /usr/lib/raspi-firmware.
 */
const ISCHROOT_DIVERT = "dpkg-divert --local --rename --divert /usr/bin/ischroot.strata";
const ISCHROOT_ON = `${ISCHROOT_DIVERT} --add /usr/bin/ischroot
printf '#!/bin/sh\nexit 0\n' >/usr/bin/ischroot
chmod 0755 /usr/bin/ischroot`;
const ISCHROOT_OFF = `rm -f /usr/bin/ischroot
${ISCHROOT_DIVERT} --remove /usr/bin/ischroot`;

/** GRUB modules built into the core image: enough to find and read the store or root. */
export const GRUB_MODULES = [
  "biosdisk",
  "part_msdos",
  "part_gpt",
  "ext2",
  "btrfs",
  "search",
  "search_label",
  "normal",
  "linux",
  "configfile",
  // load_env and save_env: an updatable BIOS image's one-shot trial boot (strata-update)
  "loadenv",
  "echo",
  "test",
  "serial",
  "terminal",
];

function grubCoreScript(disk: BootSettings): string {
  const label = disk.root === "flat" ? ROOT_LABEL : STORE_LABEL;
  // The embedded configuration finds the partition by label and reads its grub.cfg.
  const early = [
    `search --no-floppy --label ${label} --set=root`,
    "set prefix=($root)/boot/grub",
    "configfile $prefix/grub.cfg",
  ].join("\n");
  return [
    `cat > /tmp/early.cfg <<'STRATA_EOF'\n${early}\nSTRATA_EOF`,
    `grub-mkimage -O i386-pc -d /usr/lib/grub/i386-pc -c /tmp/early.cfg -p /boot/grub -o ${GRUB_CORE} ${GRUB_MODULES.join(" ")}`,
  ].join("\n");
}

/** Regenerates the initramfs of every kernel in the image, with the strata scripts in it. */
export const MKINITRAMFS = `found=
for kernel in /boot/vmlinuz-* /boot/vmlinux-*; do
  [ -e "$kernel" ] || continue
  version=\${kernel#/boot/vmlinu?-}
  [ -d "/lib/modules/$version" ] || continue
  found=1
  mkinitramfs -o "/boot/initrd.img-$version" "$version"
done
[ -n "$found" ] || { echo "no kernel in /boot: install linux-image-* in a layer below" >&2; exit 1; }`;

/** Steps that write strata's initramfs-tools scripts into the image. */
export function initramfsScriptSteps(): Step[] {
  return INITRAMFS_FILES.map((f) => {
    const content = readFileSync(new URL(f.asset, ASSETS), "utf8");
    return { write: { path: f.path, content, mode: f.mode } };
  });
}

export function bootLayerSteps(disk: BootSettings): Step[] {
  const install: Step[] =
    disk.boot === "rpi"
      ? [
          { run: { name: "ischroot says chroot", script: ISCHROOT_ON } },
          { packages: bootPackages(disk) },
          { run: { name: "ischroot put back", script: ISCHROOT_OFF } },
        ]
      : [{ packages: bootPackages(disk) }];
  const steps: Step[] = [...install, ...initramfsScriptSteps()];
  if (disk.boot === "bios")
    steps.push({ run: { name: "GRUB core image", script: grubCoreScript(disk) } });
  steps.push({ run: { name: "initramfs", script: MKINITRAMFS } });
  return steps;
}

/** The lowest layer of `stack` (bottom first) that names a kernel package, else the top. */
export function kernelLayerOf(stack: readonly ResolvedLayer[]): ResolvedLayer {
  const kernel = /^linux-image-/;
  const names = (l: ResolvedLayer) => [
    ...bootstrapPackages(l.spec.bootstrap),
    ...l.steps.flatMap((s) => s.step.packages ?? []),
  ];
  const found = stack.find((l) => names(l).some((p) => kernel.test(p)));
  return found ?? (stack.at(-1) as ResolvedLayer);
}

/** The boot layer's name: its settings, on the layer it sits on. */
export function bootLayerName(on: string, disk: BootSettings): string {
  const grubFinds = disk.boot === "bios" ? `-${disk.root === "flat" ? "root" : "store"}` : "";
  return `${on}.boot-${disk.boot}-${disk.filesystem}${grubFinds}`;
}

/** The boot layer as a layer of the build, sitting on `on` (see kernelLayerOf). */
export function bootLayer(on: ResolvedLayer, disk: BootSettings): ResolvedLayer {
  return addedLayer(
    on,
    bootLayerName(on.name, disk),
    bootLayerSteps(disk),
    "boot layer",
    "outputs",
  );
}
