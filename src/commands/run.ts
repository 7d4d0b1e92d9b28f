/**
 * `strata run RECIPE|IMAGE`: boot a disk image in QEMU with its serial console on the
 * terminal (Ctrl-A X quits, Ctrl-A C switches to the QEMU monitor). A `.img` argument is
 * booted as it is described by its `.img.json` sidecar (or --arch/--boot); anything else is a
 * recipe, built first (cached), whose disk output is booted. The guest boots a sparse copy of
 * the image, so the build output stays as built, unless `inPlace` is set.
 */
import { statSync } from "node:fs";
import { constants } from "node:os";
import { basename, dirname } from "node:path";
import { build } from "../build/build.js";
import { stampOutput } from "../build/output-stamps.js";
import type { BuildOptions } from "../build/context.js";
import { defaultReporter, type Reporter } from "../progress.js";
import { loadRecipe } from "../recipe/load.js";
import { trackForReaping } from "../host/cleanups.js";
import { commandLine, runSync } from "../host/run.js";
import type { Accel } from "../vm/argv.js";
import { type BootableType, builtOutput, pickOutput } from "./disk-output.js";
import { StrataError } from "../errors.js";
import type { LoadedRecipe } from "../recipe/load.js";
import { type DiskImage, readDiskImage } from "../vm/image.js";
import { type IsoImage, isIsoPath, readIsoImage } from "../vm/iso.js";
import { type Launch, prepareLaunch } from "../vm/launch.js";
import { isLiveDir, isNetbootDir, liveBoot, netbootBoot, type RamBoot } from "../vm/ram-boot.js";
import { startQemu } from "../vm/qemu-process.js";

function restoreTerminal(): void {
  if (process.stdin.isTTY) runSync("stty", ["sane"], { interactive: true, reject: false });
}

export interface RunOptions extends BuildOptions {
  /** The recipe's disk output to boot (default: the first). */
  output?: string;
  /** Override (or, without a sidecar, state) the image's architecture: amd64 | arm64. */
  arch?: string;
  /** Override (or state) the image's firmware: uefi | bios. */
  boot?: string;
  /** Guest memory in MiB (default 1024). */
  memoryMiB?: number;
  cpus?: number;
  /** Forward 127.0.0.1:sshPort to the guest's port 22. */
  sshPort?: number;
  /** Boot a disk of this many bytes (the copy grows; the image does with inPlace). */
  diskSizeBytes?: number;
  /** Boot the image itself instead of a copy: changes the guest makes stay in it. */
  inPlace?: boolean;
  accel?: Accel;
  /** Boot the netboot output (or directory) over HTTP: a direct kernel boot */
  netboot?: boolean;
  /** Boot the netboot output (or directory) through the NIC's iPXE ROM */
  pxe?: boolean;
  /** Boot the recipe's live output */
  live?: boolean;
  /** Boot the recipe's ISO output, as a CD */
  iso?: boolean;
  /** Boot an ISO as the USB stick it was written to (a larger copy: room for persistence) */
  usb?: boolean;
}

/** The free space on the USB stick an ISO boots from with --usb (without --disk-size). */
const USB_ROOM_BYTES = 1024 ** 3;

type Bootable =
  | { kind: "disk"; image: DiskImage }
  | { kind: "iso"; iso: IsoImage }
  | { kind: "ram"; path: string; boot: RamBoot };

const isDir = (path: string) => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

/** Which kind of output a recipe's run boots: the one asked for, else disk, live, netboot. */
function bootableType(recipe: LoadedRecipe, options: RunOptions): BootableType {
  if (options.netboot || options.pxe) return "netboot";
  if (options.live) return "live";
  if (options.iso || options.usb) return "iso";
  const types = new Set(recipe.recipe.outputs.map((o) => o.type));
  return (["disk", "iso", "live", "netboot"] as const).find((t) => types.has(t)) ?? "disk";
}

async function ramBoot(path: string, options: RunOptions): Promise<Bootable> {
  const boot = isLiveDir(path)
    ? liveBoot(path)
    : await netbootBoot(path, { pxe: options.pxe === true });
  return { kind: "ram", path, boot };
}

/** Whether `target` names a disk image rather than a recipe. */
export function isImagePath(target: string): boolean {
  if (!/\.(img|raw)$/i.test(target)) return false;
  try {
    return statSync(target).isFile();
  } catch {
    return true; // readDiskImage reports the missing file
  }
}

async function resolveTarget(
  target: string,
  options: RunOptions,
  reporter: Reporter,
): Promise<Bootable> {
  if (isImagePath(target)) return { kind: "disk", image: readDiskImage(target, options) };
  if (isIsoPath(target)) return { kind: "iso", iso: readIsoImage(target, options) };
  if (isDir(target) && (isLiveDir(target) || isNetbootDir(target))) {
    if ((options.netboot || options.pxe) && !isNetbootDir(target)) {
      throw new StrataError("E_USAGE", `${target} is a live directory, not a netboot one`, {
        hint: "boot it without --netboot/--pxe, or pass a .netboot directory",
      });
    }
    return ramBoot(target, options);
  }
  const recipe = loadRecipe(target, { set: options.set });
  const type = bootableType(recipe, options);
  const choice = pickOutput(recipe, type, options.output);
  const result = await build(recipe, { ...options, reporter });
  const path = builtOutput(result, type, choice);
  if (type === "disk") return { kind: "disk", image: readDiskImage(path, options) };
  if (type === "iso") return { kind: "iso", iso: readIsoImage(path, options) };
  return ramBoot(path, options);
}

async function launchFor(b: Bootable, options: RunOptions) {
  const common = {
    cpus: options.cpus,
    accel: options.accel,
    sshPort: options.sshPort,
  };
  if (b.kind === "ram") {
    const memoryMiB = options.memoryMiB ?? b.boot.launch.memoryMiB;
    return prepareLaunch(
      { ...b.boot.launch, ...common, memoryMiB, name: `strata-${basename(b.path)}` },
      { kind: "terminal" },
    );
  }
  if (b.kind === "iso") {
    const { iso } = b;
    const name = `strata-${basename(iso.path).replace(/\.iso$/, "")}`;
    if (options.usb) {
      if (!iso.sidecar.hybrid) {
        throw new StrataError("E_USAGE", `${iso.path} is a CD-only ISO (hybrid: false)`, {
          hint: "boot it as a CD (without --usb), or build it without `hybrid: false`",
        });
      }
      // A stick larger than the ISO, as one it was written to: room for a persistence partition.
      return prepareLaunch(
        {
          ...common,
          image: iso.path,
          usb: true,
          diskSizeBytes: options.diskSizeBytes ?? iso.sidecar.bytes + USB_ROOM_BYTES,
          arch: iso.arch,
          boot: iso.boot,
          memoryMiB: options.memoryMiB,
          name,
        },
        { kind: "terminal" },
      );
    }
    return prepareLaunch(
      {
        ...common,
        cdrom: iso.path,
        arch: iso.arch,
        boot: iso.boot,
        memoryMiB: options.memoryMiB,
        name,
      },
      { kind: "terminal" },
    );
  }
  const image = b.image;
  return prepareLaunch(
    {
      ...common,
      image: image.path,
      arch: image.arch,
      boot: image.boot,
      board: image.board,
      memoryMiB: options.memoryMiB,
      copy: !options.inPlace,
      diskSizeBytes: options.diskSizeBytes,
      name: `strata-${basename(image.path).replace(/\.img$/, "")}`,
    },
    { kind: "terminal" },
  );
}

function describe(b: Bootable, launch: Launch, options: RunOptions): string {
  const accel = `${launch.accel.accel} (${launch.accel.reason})`;
  if (b.kind === "ram") {
    const how = b.boot.server
      ? `${options.pxe ? "PXE through iPXE" : "netboot"} from ${b.boot.server.url}`
      : "live: kernel, initramfs and root.sqfs";
    return `booting ${b.path}: ${b.boot.arch}, ${how}, ${accel}`;
  }
  if (b.kind === "iso") {
    const as = options.usb ? `as a USB stick (a copy: ${launch.disk})` : "as a CD";
    return `booting ${b.iso.path} ${as}: ${b.iso.arch}, ${b.iso.boot}, ${accel}`;
  }
  const where = options.inPlace ? " in place" : ` (a copy: ${launch.disk})`;
  return `booting ${b.image.path}${where}: ${b.image.arch}, ${b.image.boot}, ${accel}`;
}

/** Boots `target` on the terminal; resolves with QEMU's exit code when the guest is gone. */
export async function runImage(target: string, options: RunOptions = {}): Promise<number> {
  const reporter = options.reporter ?? defaultReporter(process.stderr, options.verbose);
  const b = await resolveTarget(target, options, reporter);
  try {
    if (options.usb && b.kind !== "iso") {
      throw new StrataError("E_USAGE", `--usb boots an ISO, and ${target} is not one`, {
        hint: "pass an .iso (or a recipe with an iso output), or drop --usb",
      });
    }
    // A guest that boots the image itself changes it: the next build must write it again.
    if (b.kind === "disk" && options.inPlace) {
      stampOutput(dirname(b.image.path), basename(b.image.path), undefined);
    }
    const launch = await launchFor(b, options);
    try {
      reporter.info(describe(b, launch, options));
      if (options.verbose) reporter.info(commandLine(launch.argv));
      if (options.sshPort) reporter.info(`ssh -p ${options.sshPort} root@127.0.0.1`);
      reporter.info("Ctrl-A X quits, Ctrl-A C switches to the QEMU monitor and back");
      reporter.done();
      const qemu = startQemu(launch.argv, "inherit");
      // QEMU puts the terminal in raw mode; killed by the reaper it cannot put it back.
      const untrack = trackForReaping({ after: restoreTerminal });
      try {
        const { code, signal } = await qemu.exited;
        return code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
      } finally {
        await qemu.stop();
        qemu.release();
        untrack();
      }
    } finally {
      launch.dispose();
    }
  } finally {
    if (b.kind === "ram") await b.boot.close();
  }
}
