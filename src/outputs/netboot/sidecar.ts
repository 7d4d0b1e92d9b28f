/**
 * `netboot.json` in a netboot directory: how to boot it without iPXE (`strata run --netboot`
 * boots the kernel and initramfs directly, pointing strata.fetch= at its own server) and how
 * much RAM it needs. The netboot output writes it; `strata run` reads it.
 */
import { z } from "zod";

export const NETBOOT_SIDECAR_FORMAT = "strata-netboot/1";
export const NETBOOT_SIDECAR = "netboot.json";

export const NetbootSidecar = z.object({
  format: z.literal(NETBOOT_SIDECAR_FORMAT),
  arch: z.enum(["amd64", "arm64"]),
  recipe: z.string(),
  url: z.string(),
  /** Paths inside the directory */
  vmlinuz: z.string(),
  initrd: z.string(),
  cmdline: z.string(),
  console: z.string(),
  /** Whether the manifest has a signature (its initramfs then checks it) */
  signed: z.boolean().default(false),
  /** Bytes of the layers a boot fetches, and the RAM (MiB) that boot needs */
  layerBytes: z.number(),
  ramMiB: z.number(),
});
export type NetbootSidecar = z.output<typeof NetbootSidecar>;
