/**
 * A disk's assembly as a pure plan: from the disk's settings and the sizes of what it holds,
 * the partition layout (checked against `size` and `esp_size` before anything is written),
 * the kernel command line, the boot loader's files and texts, and the sidecar. The writing is
 * in ./assemble.ts; nothing here touches a file.
 */
import { StrataError } from "../../errors.js";
import { formatMiB, parseSize } from "../../recipe/size.js";
import { ROOT_LABEL, STORE_LABEL } from "./boot-layer.js";
import { consoles, FIRST_VERSION, kernelCmdline } from "./cmdline.js";
import { EFI_FALLBACK, loaderConf, loaderEntry, SYSTEMD_BOOT } from "./esp.js";
import { filesystemOverhead } from "./filesystem.js";
import { grubConfig, grubEnv } from "./grub.js";
import { type Layout, layout, MIB } from "./layout.js";
import { configTxt, RPI_INITRD, RPI_KERNEL } from "./board.js";
import { type DiskSettings, hasFatBoot } from "./schema.js";
import { DISK_SIDECAR_FORMAT, type DiskSidecar } from "./sidecar.js";

export interface DiskPlanInput {
  disk: DiskSettings;
  arch: string;
  recipe: string;
  /** The output's name, for messages */
  name: string;
  kernelVersion: string;
  /** Bytes of the kernel plus the initramfs */
  bootBytes: number;
  /** Bytes of a board's firmware, device trees and overlays (its boot partition holds them) */
  boardBytes?: number;
  /** Bytes of the data partition's tree (the store, or the flat root) */
  contentBytes: number;
  /** Hex sha256 of the kernel and the initramfs: their names on the ESP */
  bootDigests: { vmlinuz: string; initrd: string };
  /** The recipe has `update:`: boot counting's loader settings, panic=10 */
  updates?: boolean;
  /** No room beyond what the image holds (an installer's image: the first boot grows it) */
  minimal?: boolean;
}

/** A file the boot loader needs: `source` names one of the boot files, `to` its place. */
export interface BootFilePlacement {
  source: "vmlinuz" | "initrd" | "efi";
  to: string;
}

export interface DiskPlan {
  version: number;
  cmdline: string;
  title: string;
  /** The data partition's filesystem label */
  dataLabel: string;
  /** The bytes needed besides the data filesystem (partition alignment, ESP) */
  fixedBytes: number;
  layout: Layout;
  /** UEFI: the ESP's size, its files, and its text files by path (a board's boot partition) */
  esp?: { bytes: number; files: BootFilePlacement[]; texts: Record<string, string> };
  /** Boot files that go into the data partition's tree (GRUB's kernel, a flat root's /boot) */
  dataFiles: BootFilePlacement[];
  /** BIOS: GRUB's configuration, /boot/grub/grub.cfg of the data partition */
  grubConfig?: string;
  /** Other text files of the data partition by path (BIOS with updates: entry, grubenv) */
  dataTexts: Record<string, string>;
  sidecar: DiskSidecar;
}

/** E_DISK_SIZE for the key `key` (size or esp_size) of disk output `name`. */
export function sizeError(
  name: string,
  key: "size" | "esp_size",
  requested: number,
  needed: number,
  parts: string[],
): StrataError {
  const suggestion =
    needed >= 1024 ** 3
      ? `${Math.ceil(needed / 1024 ** 3 / 0.25) * 0.25}G`
      : `${Math.ceil(needed / MIB / 16) * 16}M`;
  return new StrataError(
    "E_DISK_SIZE",
    `disk output '${name}': ${key} ${formatMiB(requested)} is too small; it needs at least ${formatMiB(needed)} (${parts.join(", ")})`,
    { hint: `set \`${key}: ${suggestion}\` or more, or leave \`${key}\` out` },
  );
}

/** Where a flat root keeps the kernel and initramfs, as GRUB and the kernel packages expect. */
const flatBootPaths = (kernelVersion: string) => ({
  linux: `/boot/vmlinuz-${kernelVersion}`,
  initrd: `/boot/initrd.img-${kernelVersion}`,
});

export function planDisk(input: DiskPlanInput): DiskPlan {
  const { disk: d, arch, name } = input;
  const version = FIRST_VERSION;
  const cmdline = kernelCmdline(d, arch, version, input.updates === true);
  const title = `${input.recipe} (strata version ${version})`;

  const fat = hasFatBoot(d);
  const espBytes = fat ? parseSize(d.esp_size) : 0;
  const fatContent = input.bootBytes + (input.boardBytes ?? 0);
  if (fat && espBytes < fatContent + 16 * MIB) {
    throw sizeError(name, "esp_size", espBytes, fatContent + 16 * MIB, [
      `kernel and initramfs ${formatMiB(input.bootBytes)}`,
      ...(input.boardBytes ? [`firmware and device trees ${formatMiB(input.boardBytes)}`] : []),
    ]);
  }
  const bootInData = d.boot === "bios" || d.root === "flat";
  const content = input.contentBytes + (bootInData ? input.bootBytes : 0);
  const dataMin = content + filesystemOverhead(d.filesystem, content);
  const fixedBytes = 3 * MIB + espBytes;
  const needed = fixedBytes + dataMin;
  const requested =
    d.size !== undefined
      ? parseSize(d.size)
      : needed + (input.minimal ? 16 * MIB : Math.max(256 * MIB, Math.ceil(dataMin * 0.25)));
  if (requested < needed) {
    throw sizeError(name, "size", requested, needed, [
      d.root === "flat" ? `root tree ${formatMiB(content)}` : `layers ${formatMiB(content)}`,
      `${d.filesystem} overhead ${formatMiB(dataMin - content)}`,
      ...(fat ? [`${d.boot === "rpi" ? "boot partition" : "ESP"} ${formatMiB(espBytes)}`] : []),
    ]);
  }

  const plan: DiskPlan = {
    version,
    cmdline,
    title,
    dataLabel: d.root === "flat" ? ROOT_LABEL : STORE_LABEL,
    fixedBytes,
    layout: layout(d, requested, espBytes),
    dataFiles: [],
    dataTexts: {},
    sidecar: {
      format: DISK_SIDECAR_FORMAT,
      arch: arch as DiskSidecar["arch"],
      boot: d.boot,
      ...(d.board ? { board: d.board } : {}),
      table: d.table,
      filesystem: d.filesystem,
      root: d.root,
      bytes: 0,
      console: (consoles(d, arch).at(-1) ?? "ttyS0").split(",")[0] as string,
      kernel: input.kernelVersion,
      cmdline,
    },
  };
  plan.sidecar.bytes = plan.layout.bytes;

  if (d.boot === "rpi" && d.board) {
    // The firmware reads config.txt and cmdline.txt, then loads the kernel, the initramfs and
    // the board's device tree from the partition's top directory.
    plan.esp = {
      bytes: espBytes,
      files: [
        { source: "vmlinuz", to: `/${RPI_KERNEL}` },
        { source: "initrd", to: `/${RPI_INITRD}` },
      ],
      texts: {
        "/config.txt": configTxt(d.board, input.recipe, d.config),
        "/cmdline.txt": `${cmdline}\n`,
      },
    };
  }
  if (d.boot === "uefi") {
    const efiName = SYSTEMD_BOOT[arch as keyof typeof SYSTEMD_BOOT];
    const entryId = `strata-${version}`;
    // Boot files are named by digest: versions that share a kernel share its file.
    const { vmlinuz, initrd } = input.bootDigests;
    const paths = { linux: `/strata/${vmlinuz}`, initrd: `/strata/${initrd}` };
    plan.esp = {
      bytes: espBytes,
      files: [
        { source: "efi", to: `/EFI/BOOT/${EFI_FALLBACK[arch as keyof typeof EFI_FALLBACK]}` },
        { source: "efi", to: `/EFI/systemd/${efiName}` },
        { source: "vmlinuz", to: paths.linux },
        { source: "initrd", to: paths.initrd },
      ],
      texts: {
        // With updates the newest version that is not bad boots (see assets/update/strata-update).
        "/loader/loader.conf": loaderConf(input.updates ? "strata-*" : `${entryId}.conf`),
        [`/loader/entries/${entryId}.conf`]: loaderEntry({
          id: entryId,
          title,
          version: String(version),
          ...paths,
          options: cmdline,
        }),
      },
    };
  }
  // A flat root is a classic root: its /boot holds the kernel and the initramfs. GRUB reads
  // them from the data partition: the flat root's /boot, or the store's boot/N/.
  // With updates the store's boot files are named by digest, as the agent names those it adds.
  const updatable = input.updates === true && d.root !== "flat";
  const paths =
    d.root === "flat"
      ? flatBootPaths(input.kernelVersion)
      : updatable
        ? {
            linux: `/boot/${input.bootDigests.vmlinuz}`,
            initrd: `/boot/${input.bootDigests.initrd}`,
          }
        : { linux: `/boot/${version}/vmlinuz`, initrd: `/boot/${version}/initrd.img` };
  if (bootInData) {
    plan.dataFiles = [
      { source: "vmlinuz", to: paths.linux },
      { source: "initrd", to: paths.initrd },
    ];
  }
  if (d.boot === "bios") {
    const id = updatable ? `strata-${version}` : undefined;
    plan.grubConfig = grubConfig([{ id, title, ...paths, options: cmdline }]);
    // The agent's state (assets/update/strata-update): the entry it makes grub.cfg from, and
    // the environment block where GRUB notes a trial boot.
    if (updatable) {
      plan.dataTexts = {
        [`/update/entries/strata-${version}.conf`]: loaderEntry({
          id: `strata-${version}`,
          title,
          version: String(version),
          ...paths,
          options: cmdline,
        }),
        "/boot/grub/grubenv": grubEnv(),
      };
    }
  }
  return plan;
}

/** The layout again for a data filesystem that came out larger than planned (btrfs). */
export function replanForData(plan: DiskPlan, d: DiskSettings, dataBytes: number): Layout {
  return layout(d, plan.fixedBytes + dataBytes, plan.esp?.bytes ?? 0);
}
