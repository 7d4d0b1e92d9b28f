/**
 * `<name>.img.json`, written beside every disk image: how to boot it (architecture, firmware,
 * console) and what it is. The disk output writes it, `strata run` and `strata test` read it;
 * the schema is written once here for both.
 */
import { z } from "zod";

export const DISK_SIDECAR_FORMAT = "strata-disk/1";

export const DiskSidecar = z.object({
  format: z.literal(DISK_SIDECAR_FORMAT),
  arch: z.enum(["amd64", "arm64"]),
  /** rpi: a Raspberry Pi's firmware (`board` says which) */
  boot: z.enum(["uefi", "bios", "rpi"]),
  board: z.enum(["rpi3", "rpi4", "rpi5"]).optional(),
  table: z.enum(["gpt", "mbr"]).optional(),
  filesystem: z.enum(["ext4", "btrfs"]).optional(),
  root: z.enum(["immutable", "persistent", "flat"]).optional(),
  bytes: z.number().optional(),
  /** The primary serial console, e.g. ttyS0 */
  console: z.string().optional(),
  /** The kernel version and command line of version 1 */
  kernel: z.string().optional(),
  cmdline: z.string().optional(),
});
export type DiskSidecar = z.output<typeof DiskSidecar>;
