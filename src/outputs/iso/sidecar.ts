/** `<name>.iso.json` beside an ISO: how `strata run` and the tests boot it. */
import { z } from "zod";

export const ISO_SIDECAR_FORMAT = "strata-iso/1";

export const IsoSidecar = z.object({
  format: z.literal(ISO_SIDECAR_FORMAT),
  arch: z.enum(["amd64", "arm64"]),
  recipe: z.string(),
  firmware: z.array(z.enum(["uefi", "bios"])),
  label: z.string(),
  /** The live system's kernel command line (what grub.cfg boots) */
  cmdline: z.string(),
  console: z.string(),
  installer: z.boolean(),
  /** Whether it boots from a USB stick too (a partition table), and keeps changes there */
  hybrid: z.boolean().default(true),
  persistence: z.boolean().default(false),
  /** The installed disk's firmware, and the bytes of the image the installer writes */
  disk: z.object({ boot: z.enum(["uefi", "bios"]), bytes: z.number() }),
  bytes: z.number(),
});
export type IsoSidecar = z.output<typeof IsoSidecar>;
