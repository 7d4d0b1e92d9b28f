/**
 * `type: disk`: a raw, sparse disk image that boots on PCs and in QEMU, with a `.bmap` beside
 * it (for `bmaptool copy`) and `<name>.img.json` describing how to boot it.
 *
 *   - { type: disk }                                  GPT, UEFI (systemd-boot), ext4 store,
 *                                                     immutable root: layers + changes in RAM
 *   - { type: disk, root: persistent }                changes kept on the store
 *   - { type: disk, table: mbr, boot: bios, filesystem: btrfs, root: flat, size: 4G }
 *
 * Keys: `table` gpt|mbr, `boot` uefi|bios (bios: amd64 only), `filesystem` ext4|btrfs,
 * `root` immutable|persistent|flat, `size` (default: what the layers need plus room),
 * `esp_size` (default 256M), `cmdline` (extra kernel command line), `console` (kernel
 * consoles, the last one primary; default the screen and ttyS0 or, on arm64, ttyAMA0).
 *
 * The layered modes keep the stack's layer modules on a store partition (see
 * src/disk/store.ts) that the strata boot script in the initramfs stacks at boot; `flat`
 * writes the merged tree as a classic root filesystem. A boot layer (src/disk/boot-layer.ts)
 * on top of the stack brings the initramfs with the boot script and the boot loader's files.
 * On first boot the data partition and its filesystem grow to fill a larger disk.
 * Everything is assembled in files: mkfs.vfat + mtools, mkfs.ext4 -d, mkfs.btrfs --rootdir,
 * sfdisk on the image file, dd into place; nothing is loop-mounted but the read-only layers.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { mountStack } from "../build/stack.js";
import { bootLayer, ESP_LABEL, ROOT_LABEL, STORE_LABEL } from "../disk/boot-layer.js";
import {
  EFI_FALLBACK,
  type EspFile,
  loaderConf,
  loaderEntry,
  makeEsp,
  SYSTEMD_BOOT,
} from "../disk/esp.js";
import { type BootFiles, extractBootFiles } from "../disk/boot-files.js";
import { filesystemOverhead, makeFilesystem } from "../disk/filesystem.js";
import { grubConfig, grubRoom } from "../disk/grub.js";
import { type GrubImages, writeImage } from "../disk/image.js";
import { layout, MIB, partition } from "../disk/layout.js";
import { DISK_SIDECAR_FORMAT, type DiskSidecar } from "../disk/sidecar.js";
import { placeFile, type VersionManifest, writeStore } from "../disk/store.js";
import { StrataError } from "../errors.js";
import type { ToolName } from "../host/tools.js";
import { run } from "../host/run.js";
import type { DiskOutput, Output } from "../recipe/schema.js";
import { formatMiB, parseSize } from "../recipe/size.js";
import type { OutputInput, OutputType } from "./types.js";

const disk = (o: Output) => o as DiskOutput;
const VERSION = 1;

/** The kernel consoles of a disk: the last one is /dev/console, where systemd logs. */
export function consoles(d: DiskOutput, arch: string): string[] {
  return d.console ?? ["tty0", arch === "arm64" ? "ttyAMA0,115200" : "ttyS0,115200"];
}

/** The kernel command line of version `version` of a disk. */
export function kernelCmdline(d: DiskOutput, arch: string, version = VERSION): string {
  const root =
    d.root === "flat"
      ? [`root=LABEL=${ROOT_LABEL}`, "rw"]
      : [
          "boot=strata",
          `strata.version=${version}`,
          `strata.root=${d.root}`,
          `strata.store=LABEL=${STORE_LABEL}`,
        ];
  const cons = consoles(d, arch).map((c) => `console=${c}`);
  return [...root, ...cons, d.cmdline].filter((x) => x !== "").join(" ");
}

async function treeBytes(dir: string): Promise<number> {
  const { stdout } = await run("du", ["-s", "--block-size=1", dir]);
  return Number(stdout.split(/\s/)[0]);
}

/** E_DISK_SIZE for the key `key` (size or esp_size) of disk output `name`. */
function sizeError(
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

export async function writeDisk(input: OutputInput): Promise<void> {
  const { ctx, stack, scratch, target } = input;
  const d = disk(input.output);
  const arch = ctx.settings.distro.arch;
  const top = stack.at(-1);
  if (!top) throw new Error("a disk output needs at least one layer");
  const name = d.name ?? top.layer.name;
  if (!top.entry.meta.packages.some((p) => p.name.startsWith("linux-image-"))) {
    throw new StrataError(
      "E_NO_KERNEL",
      `disk output '${name}': no kernel in its layers (${stack.map((s) => s.layer.name).join(" → ")})`,
      { hint: `add linux-image-${arch} to the packages of one of these layers` },
    );
  }

  ctx.reporter.status(`disk ${name}: boot layer`);
  const boot = bootLayer(top.layer, d);
  const bootEntry = await input.extend(boot);
  const layers = [
    ...stack.map((s) => ({ name: s.layer.name, entry: s.entry })),
    { name: boot.name, entry: bootEntry },
  ];

  // Read what booting needs from the stacked layers; `flat` takes the whole merged tree.
  ctx.reporter.status(`disk ${name}: reading the kernel and boot loader`);
  const ns = await ctx.namespace();
  const mounted = await mountStack(
    ns,
    layers.map((l) => l.entry.module),
    join(scratch, "mnt"),
    "none",
  );
  const data = join(scratch, "data");
  let files: BootFiles;
  try {
    files = extractBootFiles(ns.view(mounted.root), d, arch, join(scratch, "boot"));
    if (d.root === "flat") {
      ctx.reporter.status(`disk ${name}: copying the merged tree`);
      mkdirSync(data, { recursive: true });
      await run("cp", ["-a", `${mounted.root}/.`, `${data}/`], { ns });
    }
  } finally {
    await mounted.unmount();
  }

  const cmdline = kernelCmdline(d, arch);
  const title = `${ctx.settings.recipe.recipe.name} (strata version ${VERSION})`;
  let bootPaths = { linux: "", initrd: "" };
  if (d.root === "flat") {
    bootPaths = {
      linux: `/boot/vmlinuz-${files.kernelVersion}`,
      initrd: `/boot/initrd.img-${files.kernelVersion}`,
    };
  } else {
    mkdirSync(data, { recursive: true });
    const manifest: VersionManifest = {
      format: "strata-version/1",
      version: VERSION,
      recipe: ctx.settings.recipe.recipe.name,
      root: d.root as VersionManifest["root"],
      layers: layers.map((l) => ({
        name: l.name,
        digest: l.entry.meta.digest,
        bytes: l.entry.meta.bytes,
      })),
      kernel: files.kernelVersion,
      initramfs: `initrd.img-${files.kernelVersion}`,
      cmdline,
    };
    writeStore(
      data,
      layers.map((l) => ({
        name: l.name,
        digest: l.entry.meta.digest,
        module: l.entry.module,
        bytes: l.entry.meta.bytes,
      })),
      manifest,
    );
    if (d.boot === "bios") {
      const dir = join(data, "boot", String(VERSION));
      mkdirSync(dir, { recursive: true });
      placeFile(files.vmlinuz, join(dir, "vmlinuz"));
      placeFile(files.initrd, join(dir, "initrd.img"));
      bootPaths = { linux: `/boot/${VERSION}/vmlinuz`, initrd: `/boot/${VERSION}/initrd.img` };
    }
  }
  if (d.boot === "bios") {
    mkdirSync(join(data, "boot", "grub"), { recursive: true });
    writeFileSync(
      join(data, "boot", "grub", "grub.cfg"),
      grubConfig([{ title, ...bootPaths, options: cmdline }]),
    );
  }

  // Sizes: what the parts need, checked against `size` before anything is written.
  const content = await treeBytes(data);
  const dataMin = content + filesystemOverhead(d.filesystem, content);
  const bootBytes = statSync(files.vmlinuz).size + statSync(files.initrd).size;
  const espBytes = d.boot === "uefi" ? parseSize(d.esp_size) : 0;
  if (d.boot === "uefi" && espBytes < bootBytes + 16 * MIB) {
    throw sizeError(name, "esp_size", espBytes, bootBytes + 16 * MIB, [
      `kernel and initramfs ${formatMiB(bootBytes)}`,
    ]);
  }
  const fixed = 3 * MIB + espBytes;
  const needed = fixed + dataMin;
  const requested =
    d.size !== undefined
      ? parseSize(d.size)
      : needed + Math.max(256 * MIB, Math.ceil(dataMin * 0.25));
  if (requested < needed) {
    throw sizeError(name, "size", requested, needed, [
      d.root === "flat" ? `root tree ${formatMiB(content)}` : `layers ${formatMiB(content)}`,
      `${d.filesystem} overhead ${formatMiB(dataMin - content)}`,
      ...(d.boot === "uefi" ? [`ESP ${formatMiB(espBytes)}`] : []),
    ]);
  }
  let plan = layout(d, requested, espBytes);

  ctx.reporter.status(`disk ${name}: ${d.filesystem} ${d.root === "flat" ? "root" : "store"}`);
  let dataPart = partition(plan, "data");
  const dataImage = join(scratch, "data.img");
  await makeFilesystem(
    d.filesystem,
    dataImage,
    dataPart.sectors * 512,
    d.root === "flat" ? ROOT_LABEL : STORE_LABEL,
    data,
    (l) => ctx.reporter.detail(l),
  );
  // mkfs.btrfs --rootdir enlarges its file when the tree needs more than estimated.
  const fsBytes = statSync(dataImage).size;
  if (fsBytes > dataPart.sectors * 512) {
    if (d.size !== undefined) {
      throw sizeError(name, "size", requested, fixed + fsBytes, [
        `${d.filesystem} filesystem ${formatMiB(fsBytes)}`,
      ]);
    }
    plan = layout(d, fixed + fsBytes, espBytes);
    dataPart = partition(plan, "data");
  }
  const images = [{ partition: dataPart, file: dataImage }];
  let grub: GrubImages | undefined;

  if (d.boot === "uefi") {
    ctx.reporter.status(`disk ${name}: EFI system partition`);
    const espPart = partition(plan, "esp");
    const espImage = join(scratch, "esp.img");
    const efiName = SYSTEMD_BOOT[arch as keyof typeof SYSTEMD_BOOT];
    const entryId = `strata-${VERSION}`;
    const texts = join(scratch, "esp-texts");
    mkdirSync(texts, { recursive: true });
    writeFileSync(join(texts, "loader.conf"), loaderConf(entryId));
    writeFileSync(
      join(texts, "entry.conf"),
      loaderEntry({
        id: entryId,
        title,
        version: String(VERSION),
        linux: `/strata/${VERSION}/vmlinuz`,
        initrd: `/strata/${VERSION}/initrd.img`,
        options: cmdline,
      }),
    );
    const efiFiles: EspFile[] = [
      {
        from: files.efi as string,
        to: `/EFI/BOOT/${EFI_FALLBACK[arch as keyof typeof EFI_FALLBACK]}`,
      },
      { from: files.efi as string, to: `/EFI/systemd/${efiName}` },
      { from: files.vmlinuz, to: `/strata/${VERSION}/vmlinuz` },
      { from: files.initrd, to: `/strata/${VERSION}/initrd.img` },
    ];
    await makeEsp(espImage, espPart.sectors * 512, ESP_LABEL, efiFiles, [
      { from: join(texts, "loader.conf"), to: "/loader/loader.conf" },
      { from: join(texts, "entry.conf"), to: `/loader/entries/${entryId}.conf` },
    ]);
    images.unshift({ partition: espPart, file: espImage });
  } else {
    const sector = plan.grubCoreSector as number;
    const biosBoot = plan.partitions.find((p) => p.role === "bios-boot");
    grub = {
      sector,
      room: grubRoom(sector, plan.partitions[0]?.start ?? 2048, biosBoot?.sectors),
      bootImg: readFileSync(files.grubBoot as string),
      coreImg: readFileSync(files.grubCore as string),
    };
  }

  ctx.reporter.status(`disk ${name}: image`);
  await writeImage({
    plan,
    images,
    grub,
    target,
    scratch,
    sidecar: {
      format: DISK_SIDECAR_FORMAT,
      arch: arch as DiskSidecar["arch"],
      boot: d.boot,
      table: d.table,
      filesystem: d.filesystem,
      root: d.root,
      bytes: plan.bytes,
      console: (consoles(d, arch).at(-1) ?? "ttyS0").split(",")[0] as string,
      kernel: files.kernelVersion,
      cmdline,
    },
  });
}

export const diskOutput: OutputType = {
  type: "disk",
  tools: (o) => {
    const d = disk(o);
    const tools: ToolName[] = ["mount", "sfdisk", "bmaptool"];
    tools.push(d.filesystem === "btrfs" ? "mkfsBtrfs" : "mkfsExt4");
    if (d.boot === "uefi") tools.push("mkfsVfat", "mcopy", "mmd");
    return tools;
  },
  fileName: (_o, name) => `${name}.img`,
  write: writeDisk,
};
