/**
 * The partition layout of a disk image, as a pure function of the disk's settings and the
 * sizes of its parts, and the sfdisk script that writes it. Every partition starts on a MiB
 * boundary; the data partition (store, or flat root) is last so that it can grow into a larger
 * disk on first boot.
 *
 *   gpt + uefi:  1 ESP                2 store/root
 *   gpt + bios:  1 BIOS boot (1 MiB)  2 store/root     GRUB's core image lives in partition 1
 *   mbr + uefi:  1 ESP (type ef)      2 store/root
 *   mbr + bios:  1 store/root         GRUB's core image lives in the gap before it
 *   mbr + rpi:   1 FAT boot (type c)   2 store/root     a Raspberry Pi's firmware reads it
 */
import { type DiskSettings, hasFatBoot } from "./schema.js";

export const SECTOR = 512;
export const MIB = 1024 * 1024;
const ALIGN = MIB / SECTOR;
/** GPT keeps a backup table in the last 33 sectors; keep the last MiB free for it. */
const GPT_TAIL = ALIGN;

export type PartitionRole = "esp" | "bios-boot" | "data";

export interface Partition {
  role: PartitionRole;
  /** 1-based partition number */
  number: number;
  /** In 512-byte sectors */
  start: number;
  sectors: number;
  /** GPT type GUID or MBR type byte (hex) */
  type: string;
  name: string;
  bootable?: boolean;
}

export interface Layout {
  table: DiskSettings["table"];
  bytes: number;
  partitions: Partition[];
  /** Sector where GRUB's core image goes (bios), else undefined. */
  grubCoreSector?: number;
}

const TYPES = {
  gpt: {
    esp: "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
    "bios-boot": "21686148-6449-6E6F-744E-656564454649",
    data: "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
  },
  mbr: { esp: "ef", "bios-boot": "", data: "83" },
} as const;
/** W95 FAT32 (LBA): the partition type a Raspberry Pi's firmware boots from. */
const RPI_BOOT_TYPE = "c";

const mibCeil = (bytes: number) => Math.ceil(bytes / MIB) * MIB;

/** Lays out a disk of `bytes` (rounded up to a MiB) holding an ESP of `espBytes` if UEFI. */
export function layout(
  disk: Pick<DiskSettings, "table" | "boot">,
  bytes: number,
  espBytes: number,
): Layout {
  const total = mibCeil(bytes) / SECTOR;
  const parts: Omit<Partition, "number">[] = [];
  let next = ALIGN;
  let grubCoreSector: number | undefined;
  const add = (role: PartitionRole, sectors: number, name: string, bootable = false) => {
    const type = disk.boot === "rpi" && role === "esp" ? RPI_BOOT_TYPE : TYPES[disk.table][role];
    parts.push({ role, start: next, sectors, type, name, bootable });
    next += sectors;
  };
  if (hasFatBoot(disk)) add("esp", mibCeil(espBytes) / SECTOR, "esp");
  else if (disk.table === "gpt") {
    grubCoreSector = next;
    add("bios-boot", ALIGN, "bios-boot");
  } else grubCoreSector = 1;
  const end = total - (disk.table === "gpt" ? GPT_TAIL : 0);
  if (end - next < ALIGN) throw new Error(`a disk of ${bytes} bytes has no room for its data`);
  add("data", end - next, "strata", disk.table === "mbr" && disk.boot === "bios");
  return {
    table: disk.table,
    bytes: total * SECTOR,
    partitions: parts.map((p, i) => ({ ...p, number: i + 1 })),
    grubCoreSector,
  };
}

/** sfdisk's input for the layout. */
export function sfdiskScript(l: Layout): string {
  const lines = [`label: ${l.table === "gpt" ? "gpt" : "dos"}`, "unit: sectors", ""];
  for (const p of l.partitions) {
    const fields = [`start=${p.start}`, `size=${p.sectors}`, `type=${p.type}`];
    if (l.table === "gpt") fields.push(`name=${p.name}`);
    if (p.bootable) fields.push("bootable");
    lines.push(fields.join(", "));
  }
  return `${lines.join("\n")}\n`;
}

export function partition(l: Layout, role: PartitionRole): Partition {
  const p = l.partitions.find((x) => x.role === role);
  if (!p) throw new Error(`the layout has no ${role} partition`);
  return p;
}
