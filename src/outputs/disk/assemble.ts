/**
 * Writes a disk image from its plan (./plan.ts): the data partition's tree (the store with the
 * output's layer modules, or the merged tree of a flat root), its filesystem, the ESP or
 * GRUB's boot code, and the image with its `.bmap` and `.img.json`. The kernel, initramfs and
 * boot loader files are taken out of the boot layer's stack.
 *
 * A flat root is a copy of the layers' tree, symlinks included (`cp -a`, `du`, `mkfs.ext4 -d`
 * and `mkfs.btrfs --rootdir` all take a symlink as a symlink, never its target). What strata
 * writes into that copy (fstab, kernel, initramfs, grub.cfg) is placed inside it
 * (src/host/in-root.ts): a layer's `/etc/fstab -> /etc/fstab` or `/boot -> /` is followed
 * inside the copy, never out to the build host's own files.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { fileSha256 } from "../../cache/canonical.js";
import { join } from "node:path";
import { freshPathInRoot, writeFileInRoot } from "../../host/in-root.js";
import type { OutputInput } from "../types.js";
import { type BootFiles, checkKernelInTop, extractBootFiles } from "./boot-files.js";
import { BOOT_ROLE, ESP_LABEL, ROOT_LABEL, RPI_BOOT_LABEL } from "./boot-layer.js";
import { type EspFile, makeEsp } from "./esp.js";
import { makeFilesystem } from "./filesystem.js";
import { grubRoom } from "./grub.js";
import { type GrubImages, writeImage } from "./image.js";
import { type Layout, partition } from "./layout.js";
import { type BootFilePlacement, planDisk, replanForData, sizeError } from "./plan.js";
import { type DiskOutput, type DiskSettings, diskSettings } from "./schema.js";
import { placeFile, writeStore } from "./store.js";
import { UPDATE_ROLE } from "./update-layer.js";
import { RELEASE_FORMAT, type ReleaseManifest } from "../../update/manifest.js";
import { writeRelease } from "./release.js";

async function treeBytes(input: OutputInput<DiskOutput>, dir: string): Promise<number> {
  const { stdout } = await input.env.run("du", ["-s", "--block-size=1", dir]);
  return Number(stdout.split(/\s/)[0]);
}

const fileOf = (files: BootFiles, p: BootFilePlacement): string =>
  p.source === "vmlinuz" ? files.vmlinuz : p.source === "initrd" ? files.initrd : (files.efi ?? "");

/**
 * Writes the disk image; returns its partition layout. `minimal`: no room beyond what the
 * image holds (the ISO's installer image).
 */
export async function assembleDisk(
  input: OutputInput<DiskOutput>,
  options: { minimal?: boolean } = {},
): Promise<Layout> {
  const { env, scratch, target, name } = input;
  const d: DiskSettings = diskSettings(input.output);
  const arch = env.distro.arch;
  const boot = input.added[BOOT_ROLE];
  if (!boot) throw new Error(`disk output '${name}' has no boot layer in the plan`);

  env.reporter.status(`disk ${name}: reading the kernel and boot loader`);
  const files = await boot.withRoot(async (root) =>
    extractBootFiles(root.path, d, arch, join(scratch, "boot")),
  );
  checkKernelInTop(
    `disk output '${name}'`,
    files.kernelVersion,
    boot.layers.at(-2)?.name,
    input.stack.layers.at(-1),
  );

  const data = join(scratch, "data");
  mkdirSync(data, { recursive: true });
  if (d.root === "flat") {
    env.reporter.status(`disk ${name}: copying the merged tree`);
    await input.stack.withRoot((root) => env.run("cp", ["-a", `${root.nsPath}/.`, `${data}/`]));
    writeFileInRoot(
      data,
      "/etc/fstab",
      `# strata: a classic root\nLABEL=${ROOT_LABEL} / ${d.filesystem} defaults 0 1\n`,
    );
  }
  const bootBytes = statSync(files.vmlinuz).size + statSync(files.initrd).size;
  const boardBytes = (files.board ?? []).reduce((n, f) => n + statSync(f.from).size, 0);
  // With `update:`, the store stacks the update layer (agent, keyring, health checks) on top.
  const update = input.added[UPDATE_ROLE];
  const storeLayers = [...(update ?? input.stack).layers];
  const bootDigests = {
    vmlinuz: await fileSha256(files.vmlinuz),
    initrd: await fileSha256(files.initrd),
  };
  // A flat root holds the copied tree; a store, the modules and a few KiB of version files.
  const contentBytes =
    d.root === "flat"
      ? await treeBytes(input, data)
      : storeLayers.reduce((n, l) => n + l.bytes, 0) + 64 * 1024;
  const plan = planDisk({
    disk: d,
    arch,
    recipe: env.recipe.name,
    name,
    kernelVersion: files.kernelVersion,
    bootBytes,
    boardBytes,
    contentBytes,
    bootDigests,
    updates: update !== undefined,
    minimal: options.minimal,
  });

  if (d.root !== "flat") {
    const manifest: ReleaseManifest = {
      format: RELEASE_FORMAT,
      recipe: env.recipe.name,
      arch,
      version: plan.version,
      root: d.root as ReleaseManifest["root"],
      kernel: files.kernelVersion,
      cmdline: plan.cmdline,
      vmlinuz: { digest: bootDigests.vmlinuz, bytes: statSync(files.vmlinuz).size },
      initrd: { digest: bootDigests.initrd, bytes: statSync(files.initrd).size },
      layers: storeLayers.map((l) => ({ name: l.name, digest: l.digest, bytes: l.bytes })),
    };
    writeStore(data, storeLayers, manifest);
    // What `strata publish` adds to an update repository: the same layers, boot files, manifest.
    if (update) writeRelease(input, manifest, storeLayers, files);
  }
  for (const f of plan.dataFiles) placeFile(fileOf(files, f), freshPathInRoot(data, f.to));
  if (plan.grubConfig !== undefined) writeFileInRoot(data, "/boot/grub/grub.cfg", plan.grubConfig);
  for (const [path, text] of Object.entries(plan.dataTexts)) writeFileInRoot(data, path, text);

  env.reporter.status(`disk ${name}: ${d.filesystem} ${d.root === "flat" ? "root" : "store"}`);
  let layout = plan.layout;
  let dataPart = partition(layout, "data");
  const dataImage = join(scratch, "data.img");
  await makeFilesystem(d.filesystem, dataImage, dataPart.sectors * 512, plan.dataLabel, data, (l) =>
    env.reporter.detail(l),
  );
  // mkfs.btrfs --rootdir enlarges its file when the tree needs more than estimated.
  const fsBytes = statSync(dataImage).size;
  if (fsBytes > dataPart.sectors * 512) {
    if (d.size !== undefined) {
      throw sizeError(name, "size", layout.bytes, plan.fixedBytes + fsBytes, [
        `${d.filesystem} filesystem ${Math.ceil(fsBytes / 1048576)} MiB`,
      ]);
    }
    layout = replanForData(plan, d, fsBytes);
    dataPart = partition(layout, "data");
    plan.sidecar.bytes = layout.bytes;
  }
  const images = [{ partition: dataPart, file: dataImage }];

  let grub: GrubImages | undefined;
  if (plan.esp) {
    env.reporter.status(
      `disk ${name}: ${d.boot === "rpi" ? "boot partition" : "EFI system partition"}`,
    );
    const espPart = partition(layout, "esp");
    const espImage = join(scratch, "esp.img");
    const texts = join(scratch, "esp-texts");
    const textFiles: EspFile[] = Object.entries(plan.esp.texts).map(([to, content], i) => {
      const from = join(texts, String(i));
      mkdirSync(texts, { recursive: true });
      writeFileSync(from, content);
      return { from, to };
    });
    const espFiles = [
      ...plan.esp.files.map((f) => ({ from: fileOf(files, f), to: f.to })),
      ...(files.board ?? []),
    ];
    const label = d.boot === "rpi" ? RPI_BOOT_LABEL : ESP_LABEL;
    await makeEsp(espImage, espPart.sectors * 512, label, espFiles, textFiles);
    images.unshift({ partition: espPart, file: espImage });
  } else {
    const sector = layout.grubCoreSector as number;
    const biosBoot = layout.partitions.find((p) => p.role === "bios-boot");
    grub = {
      sector,
      room: grubRoom(sector, layout.partitions[0]?.start ?? 2048, biosBoot?.sectors),
      bootImg: readFileSync(files.grubBoot as string),
      coreImg: readFileSync(files.grubCore as string),
    };
  }

  env.reporter.status(`disk ${name}: image`);
  await writeImage({ plan: layout, images, grub, target, scratch, sidecar: plan.sidecar });
  return layout;
}
