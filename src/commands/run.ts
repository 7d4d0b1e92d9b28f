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
import { builtImage, pickDiskOutput } from "./disk-output.js";
import { type DiskImage, readDiskImage } from "../vm/image.js";
import { prepareLaunch } from "../vm/launch.js";
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

async function resolveImage(
  target: string,
  options: RunOptions,
  reporter: Reporter,
): Promise<DiskImage> {
  if (isImagePath(target)) return readDiskImage(target, options);
  const recipe = loadRecipe(target, { set: options.set });
  const choice = pickDiskOutput(recipe, options.output);
  const result = await build(recipe, { ...options, reporter });
  return readDiskImage(builtImage(result, choice), options);
}

/** Boots `target` on the terminal; resolves with QEMU's exit code when the guest is gone. */
export async function runImage(target: string, options: RunOptions = {}): Promise<number> {
  const reporter = options.reporter ?? defaultReporter(process.stderr, options.verbose);
  const image = await resolveImage(target, options, reporter);
  // A guest that boots the image itself changes it: the next build must write it again.
  if (options.inPlace) stampOutput(dirname(image.path), basename(image.path), undefined);
  const launch = await prepareLaunch(
    {
      image: image.path,
      arch: image.arch,
      boot: image.boot,
      memoryMiB: options.memoryMiB,
      cpus: options.cpus,
      accel: options.accel,
      copy: !options.inPlace,
      diskSizeBytes: options.diskSizeBytes,
      sshPort: options.sshPort,
      name: `strata-${basename(image.path).replace(/\.img$/, "")}`,
    },
    { kind: "terminal" },
  );
  try {
    reporter.info(
      `booting ${image.path}${options.inPlace ? " in place" : ` (a copy: ${launch.disk})`}: ${image.arch}, ${image.boot}, ${launch.accel.accel} (${launch.accel.reason})`,
    );
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
}
