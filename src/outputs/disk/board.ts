/**
 * Raspberry Pi boards (`board:` on a disk output): what goes on the FAT boot partition the
 * Pi's firmware reads, as pure functions of the board.
 *
 *   rpi3   bootcode.bin, start.elf, fixup.dat  (the GPU's firmware, raspi-firmware)
 *   rpi4   start4.elf, fixup4.dat              (its boot loader is in EEPROM)
 *   rpi5   nothing                             (its boot loader in EEPROM reads config.txt)
 *
 * Every board gets config.txt (arm64 kernel, the UART, Debian's upstream device trees, the
 * kernel and initramfs strata put there, then the recipe's `config` lines), cmdline.txt (the
 * same kernel command line as a PC's disk), the kernel's device trees for its SoC family and
 * the overlays raspi-firmware carries. The serial console is the board's GPIO UART: the mini
 * UART (ttyS1) on a Pi 3 and 4, whose PL011 drives Bluetooth; the debug UART (ttyAMA10) on
 * a Pi 5.
 */
import type { Board } from "./schema.js";

export interface BoardInfo {
  /** What people call it, for messages */
  title: string;
  /** Firmware files from /usr/lib/raspi-firmware */
  firmware: string[];
  /** Device tree files (of the kernel's broadcom/ directory) for this board's family */
  dtbPattern: RegExp;
  /** The device tree QEMU's machine of this board loads (`strata run`) */
  dtb: string;
  /** The console on the GPIO header's UART, at 115200 baud */
  console: string;
  /**
   * Kernel options without which it cannot read its SD card (`CONFIG_X`, built in or a
   * module): checked in the kernel's config before the image is made.
   */
  kernelNeeds: string[];
}

export const BOARD_INFO: Record<Board, BoardInfo> = {
  rpi3: {
    title: "Raspberry Pi 3",
    firmware: ["bootcode.bin", "start.elf", "fixup.dat"],
    dtbPattern: /^bcm2837-rpi-.*\.dtb$/,
    dtb: "bcm2837-rpi-3-b.dtb",
    console: "ttyS1",
    kernelNeeds: ["CONFIG_MMC_BCM2835", "CONFIG_MMC_SDHCI_IPROC"],
  },
  rpi4: {
    title: "Raspberry Pi 4",
    firmware: ["start4.elf", "fixup4.dat"],
    dtbPattern: /^bcm2711-rpi-.*\.dtb$/,
    dtb: "bcm2711-rpi-4-b.dtb",
    console: "ttyS1",
    kernelNeeds: ["CONFIG_MMC_SDHCI_IPROC"],
  },
  rpi5: {
    title: "Raspberry Pi 5",
    firmware: [],
    dtbPattern: /^bcm2712-.*\.dtb$/,
    dtb: "bcm2712-rpi-5-b.dtb",
    console: "ttyAMA10",
    kernelNeeds: ["CONFIG_MMC_SDHCI_BRCMSTB"],
  },
};

/** Where the firmware files, the overlays and the kernel's device trees are in the image. */
export const RPI_FIRMWARE_DIR = "/usr/lib/raspi-firmware";
export const dtbDir = (kernelVersion: string) => `/usr/lib/linux-image-${kernelVersion}/broadcom`;

/** Names of the kernel and initramfs on the boot partition, as config.txt gives them. */
export const RPI_KERNEL = "vmlinuz";
export const RPI_INITRD = "initrd.img";

/** config.txt for `board`, with the recipe's own lines last (the firmware takes the last one). */
export function configTxt(board: Board, recipe: string, extra: readonly string[]): string {
  return [
    `# Written by strata for ${recipe} (${BOARD_INFO[board].title}). A build replaces it:`,
    "# change the disk output's `config` in the recipe instead.",
    "arm_64bit=1",
    // The GPIO UART at a fixed clock, so the serial console keeps its baud rate.
    "enable_uart=1",
    // Debian's kernel carries the upstream device trees (bcm2837-*, not bcm2710-*).
    "upstream_kernel=1",
    `kernel=${RPI_KERNEL}`,
    `initramfs ${RPI_INITRD} followkernel`,
    ...(extra.length > 0 ? ["", "# From the recipe:", ...extra] : []),
    "",
  ].join("\n");
}

/** The kernel options of `needs` that a kernel config (/boot/config-*) has neither =y nor =m. */
export function missingKernelOptions(config: string, needs: readonly string[]): string[] {
  const missing = needs.filter((o) => !new RegExp(`^${o}=[ym]$`, "m").test(config));
  // A board is readable when any one of its SD host drivers is there.
  return missing.length === needs.length ? [...needs] : [];
}
