/** `live.json` in a live directory: how `strata run` boots its three files. */
import { z } from "zod";

export const LIVE_SIDECAR_FORMAT = "strata-live/1";
export const LIVE_SIDECAR = "live.json";
export const LIVE_FILES = { vmlinuz: "vmlinuz", initrd: "initrd.img", root: "root.sqfs" };

export const LiveSidecar = z.object({
  format: z.literal(LIVE_SIDECAR_FORMAT),
  arch: z.enum(["amd64", "arm64"]),
  recipe: z.string(),
  kernel: z.string(),
  /** With strata.live=auto: the root is the first block device that holds a squashfs */
  cmdline: z.string(),
  console: z.string(),
  rootBytes: z.number(),
});
export type LiveSidecar = z.output<typeof LiveSidecar>;
