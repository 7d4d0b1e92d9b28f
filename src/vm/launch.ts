/**
 * Everything before QEMU starts, shared by the library's Machine (console on pipes) and
 * `strata run` (console on the terminal): QEMU is installed, KVM or TCG is chosen, a temporary
 * directory (registered for reaping, host/cleanups.ts) gets the copy of the image and of the
 * firmware's vars, and the command line is made. `dispose()` removes the directory again.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { trackForReaping } from "../host/cleanups.js";
import type { Board } from "../outputs/disk/schema.js";
import { type AccelChoice, chooseAccel } from "./accel.js";
import { type Accel, type Firmware, qemuArgv, type SerialConfig, type VmArch } from "./argv.js";
import { prepareBoardBoot } from "./board.js";
import { prepareBootDisk } from "./boot-disk.js";
import { prepareFirmware } from "./firmware.js";
import { requireQemu } from "./qemu-process.js";

export interface LaunchOptions {
  /** The raw disk image (none for a netboot, or a live system booted by its kernel). */
  image?: string;
  /** Attach the image as a USB stick (an ISO written to one) instead of a virtio disk. */
  usb?: boolean;
  /** Direct kernel boot (netboot, live): QEMU loads them, no boot loader runs. */
  kernel?: { path: string; initrd: string; append: string };
  /** An ISO image as a CD, booted first. */
  cdrom?: string;
  /** More disks, after the image (a live root.sqfs read-only, a blank target disk). */
  drives?: readonly { path: string; readonly?: boolean }[];
  /** Boot from the network: the NIC's iPXE ROM, `tftp` a directory QEMU serves, `bootfile`. */
  pxe?: { tftp: string; bootfile: string };
  arch: VmArch;
  boot: Firmware;
  /** boot: rpi: the Raspberry Pi the image is for (./board.ts) */
  board?: Board;
  /** Guest memory in MiB (default 1024). */
  memoryMiB?: number;
  /** Default: 2 with KVM, 1 under TCG (argv.ts, defaultCpus). */
  cpus?: number;
  /** Default: KVM when it works (probed), else TCG; STRATA_ACCEL overrides the probe. */
  accel?: Accel;
  /** Boot a copy of the image (default true), so the image itself is never changed. */
  copy?: boolean;
  /** Grow the booted disk to this many bytes (the copy, or the image with copy: false). */
  diskSizeBytes?: number;
  /** Forward 127.0.0.1:sshPort on the host to the guest's port 22. */
  sshPort?: number;
  /** Where the temporary directory goes (default: the OS's). */
  tmpDir?: string;
  /** QEMU's -name (default "strata"). */
  name?: string;
  /** Appended to QEMU's command line as they are (e.g. -kernel, -append for experiments). */
  extraArgs?: readonly string[];
}

export interface Launch {
  argv: string[];
  accel: AccelChoice;
  /** The disk the guest boots (undefined when it boots without one). */
  disk: string | undefined;
  /** The temporary directory (copies of the image and the firmware vars). */
  dir: string;
  /** QEMU's monitor socket, when the console is on pipes (a library-driven machine). */
  monitor: string | undefined;
  /** Removes the temporary directory; safe to call twice. */
  dispose(): void;
}

export async function prepareLaunch(options: LaunchOptions, serial: SerialConfig): Promise<Launch> {
  requireQemu(options.arch);
  const accel: AccelChoice = options.accel
    ? { accel: options.accel, reason: "chosen by the caller" }
    : await chooseAccel(options.arch);
  const dir = mkdtempSync(join(options.tmpDir ?? tmpdir(), "strata-vm-"));
  const untrack = trackForReaping({ paths: [dir] });
  const dispose = () => {
    rmSync(dir, { recursive: true, force: true });
    untrack();
  };
  try {
    const copy = options.copy !== false;
    const disk =
      options.image === undefined
        ? undefined
        : await prepareBootDisk(options.image, { copy, dir, sizeBytes: options.diskSizeBytes });
    const firmware = options.boot === "uefi" ? prepareFirmware(options.arch, dir) : undefined;
    // A Pi image: its kernel, initramfs and command line come off its own boot partition.
    const board =
      options.boot === "rpi" && disk !== undefined
        ? await prepareBoardBoot(disk, options.board ?? "rpi3", dir, copy)
        : undefined;
    // A socket path is limited to 108 bytes; without one the machine simply cannot be reset.
    const socket = join(dir, "monitor.sock");
    const monitor = serial.kind === "pipe" && socket.length < 100 ? socket : undefined;
    const argv = qemuArgv({
      arch: options.arch,
      accel: accel.accel,
      boot: options.boot,
      firmware,
      memoryMiB: options.memoryMiB ?? 1024,
      cpus: options.cpus,
      disk:
        disk === undefined
          ? undefined
          : { path: disk, cache: copy ? "unsafe" : "writeback", usb: options.usb },
      drives: options.drives,
      cdrom: options.cdrom,
      kernel: board?.kernel ?? options.kernel,
      board: board && { machine: board.machine, dtb: board.dtb },
      pxe: options.pxe !== undefined,
      serial,
      network: { sshPort: options.sshPort, ...options.pxe },
      monitor,
      name: options.name,
      extraArgs: options.extraArgs,
    });
    return { argv, accel, disk, dir, monitor, dispose };
  } catch (e) {
    dispose();
    throw e;
  }
}
