/**
 * Booting a Raspberry Pi image (a disk output with `board:`) in QEMU. The Pi's firmware is not
 * emulated, so strata does what it would: it reads cmdline.txt, the kernel, the initramfs and
 * the board's device tree off the image's FAT boot partition (with mtools, nothing mounted)
 * and QEMU loads them.
 *
 *   rpi3        -M raspi3b: the board itself (BCM2837, 1 GiB), the image as its SD card, the
 *               console on the mini UART (QEMU's second serial port, the guest's ttyS1)
 *   rpi4, rpi5  QEMU has no such machine here: -M virt with the image as a virtio disk and
 *               the console moved to ttyAMA0, so the same kernel, initramfs and root boot
 *
 * An SD card's size must be a power of two for QEMU: the booted copy is grown to the next one,
 * and the store grows into it on first boot, as on a real card.
 */
import { closeSync, openSync, readFileSync, readSync, statSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { StrataError } from "../errors.js";
import { run } from "../host/run.js";
import { requireTools } from "../host/tools.js";
import { BOARD_INFO, RPI_INITRD, RPI_KERNEL } from "../outputs/disk/board.js";
import type { Board } from "../outputs/disk/schema.js";

export interface BoardBoot {
  machine: "raspi3b" | "virt";
  kernel: { path: string; initrd: string; append: string };
  /** The device tree QEMU passes to the kernel (raspi3b) */
  dtb?: string;
}

/** Byte offset of the first partition of an MBR disk (the Pi's boot partition). */
export function firstPartitionOffset(disk: string): number {
  const fd = openSync(disk, "r");
  try {
    const mbr = Buffer.alloc(512);
    readSync(fd, mbr, 0, 512, 0);
    const start = mbr.readUInt32LE(446 + 8);
    if (mbr.readUInt16LE(510) !== 0xaa55 || start === 0) {
      throw new StrataError("E_USAGE", `${disk} has no MBR partition table`, {
        hint: "boot a Raspberry Pi image built by strata (a disk output with `board:`)",
      });
    }
    return start * 512;
  } finally {
    closeSync(fd);
  }
}

/** The kernel command line for `machine`: a virt machine's console is its PL011, ttyAMA0. */
export function boardAppend(cmdline: string, board: Board, machine: BoardBoot["machine"]): string {
  const line = cmdline.trim();
  if (machine !== "virt") return line;
  const uart = BOARD_INFO[board].console;
  return line.replace(new RegExp(`(^|\\s)console=${uart}(?=[,\\s]|$)`, "g"), "$1console=ttyAMA0");
}

export const boardMachine = (board: Board): BoardBoot["machine"] =>
  board === "rpi3" ? "raspi3b" : "virt";

/** The smallest power of two that is at least `bytes`. */
export function sdCardBytes(bytes: number): number {
  let size = 1;
  while (size < bytes) size *= 2;
  return size;
}

/**
 * Takes what the Pi's firmware would load out of `disk` into `dir`, and grows a raspi3b's card
 * to a power of two when `disk` is a copy (`grow`); the image itself is never changed.
 */
export async function prepareBoardBoot(
  disk: string,
  board: Board,
  dir: string,
  grow: boolean,
): Promise<BoardBoot> {
  requireTools(["mcopy"]);
  const machine = boardMachine(board);
  const fat = `${disk}@@${firstPartitionOffset(disk)}`;
  const take = async (name: string) => {
    const to = join(dir, `board-${name}`);
    await run("mcopy", ["-n", "-o", "-i", fat, `::/${name}`, to], {
      env: { MTOOLS_SKIP_CHECK: "1" },
    }).catch((e) => {
      throw new StrataError("E_USAGE", `${disk}: its boot partition has no ${name}`, {
        hint: "boot a Raspberry Pi image built by strata (a disk output with `board:`)",
        cause: e,
      });
    });
    return to;
  };
  const cmdline = readFileSync(await take("cmdline.txt"), "utf8");
  const kernel = {
    path: await take(RPI_KERNEL),
    initrd: await take(RPI_INITRD),
    append: boardAppend(cmdline, board, machine),
  };
  if (machine === "virt") return { machine, kernel };
  const size = statSync(disk).size;
  if (sdCardBytes(size) !== size) {
    if (!grow) {
      throw new StrataError(
        "E_USAGE",
        `QEMU's raspi3b takes an SD card whose size is a power of two, and ${disk} is ${size} bytes`,
        { hint: "boot a copy (leave out --in-place), which strata grows to the next power of two" },
      );
    }
    truncateSync(disk, sdCardBytes(size));
  }
  return { machine, kernel, dtb: await take(BOARD_INFO[board].dtb) };
}
