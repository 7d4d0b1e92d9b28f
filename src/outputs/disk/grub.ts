/**
 * GRUB for BIOS PCs, written straight into the image file: no loop device and no
 * grub-install, which wants to probe the host's devices. The MBR gets the first 440 bytes of
 * GRUB's boot.img (the rest of the sector is the partition table) with the sector of the core
 * image patched in; the core image (made by grub-mkimage in the boot layer, with an embedded
 * configuration that finds the store or root by label) goes into the gap after the MBR or into
 * the GPT BIOS boot partition. GRUB then reads /boot/grub/grub.cfg from that partition.
 */
import { MIB, SECTOR } from "./layout.js";

/** Offset in boot.img of the 64-bit sector number of the core image's first sector. */
const KERNEL_SECTOR = 0x5c;
/** Offset in diskboot.img (core.img's first sector) of the blocklist's start sector. */
const BLOCKLIST_START = SECTOR - 12;
const MBR_CODE = 440;

/** Patches the MBR sector (`mbr`, 512 bytes) and returns the core image to write at `sector`. */
export function embedGrub(
  mbr: Buffer,
  bootImg: Buffer,
  coreImg: Buffer,
  sector: number,
  room: number,
): Buffer {
  if (bootImg.length !== SECTOR) throw new Error(`boot.img is ${bootImg.length} bytes, not 512`);
  if (coreImg.length > room) {
    throw new Error(`GRUB's core image (${coreImg.length} bytes) does not fit in ${room} bytes`);
  }
  bootImg.copy(mbr, 0, 0, MBR_CODE);
  mbr.writeBigUInt64LE(BigInt(sector), KERNEL_SECTOR);
  const core = Buffer.from(coreImg);
  // grub-mkimage assumes the core image starts at sector 1; the rest follows its first sector.
  core.writeBigUInt64LE(BigInt(sector + 1), BLOCKLIST_START);
  return core;
}

/** Bytes GRUB's core image may take at `sector`: up to the first partition. */
export function grubRoom(sector: number, firstPartitionStart: number, biosBootSectors?: number) {
  const end = biosBootSectors !== undefined ? sector + biosBootSectors : firstPartitionStart;
  return Math.min((end - sector) * SECTOR, MIB);
}

export interface GrubEntry {
  /** The menu entry's id (`strata-N`): updatable images pick entries by id */
  id?: string;
  title: string;
  linux: string;
  initrd: string;
  options: string;
}

/** grub.cfg: the serial port and the screen, a short menu (version choice at boot). */
export function grubConfig(entries: GrubEntry[], timeoutSeconds = 1): string {
  const lines = [
    "# Written by strata.",
    "serial --unit=0 --speed=115200",
    "terminal_input serial console",
    "terminal_output serial console",
    `set timeout=${timeoutSeconds}`,
    `set default=${entries[0]?.id ?? 0}`,
    "",
  ];
  for (const e of entries) {
    lines.push(
      `menuentry '${e.title.replaceAll("'", "")}'${e.id ? ` --id ${e.id}` : ""} {`,
      `  linux ${e.linux} ${e.options}`,
      `  initrd ${e.initrd}`,
      "}",
      "",
    );
  }
  return lines.join("\n");
}

/**
 * An empty GRUB environment block (grub-editenv's format: 1024 bytes, padded with '#'): GRUB
 * rewrites it in place with save_env, so it is made at its full size.
 */
export function grubEnv(): string {
  const head = "# GRUB Environment Block\n";
  return head + "#".repeat(1024 - head.length);
}
