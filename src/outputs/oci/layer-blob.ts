/**
 * One strata layer as one OCI layer blob: its module unpacked (unsquashfs, as root: owners,
 * modes, device nodes, xattrs, capabilities kept), overlayfs whiteouts turned into OCI's
 * (./whiteouts.ts), then tarred the same way every time and compressed. The digests are of
 * the files, read as streams; no layer is ever held in memory.
 */
import { mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileSha256 } from "../../cache/canonical.js";
import { blobPath } from "../../oci/image-layout.js";
import type { OutputEnv, StackLayer } from "../types.js";
import type { LayerBlob } from "./layout.js";
import type { OciOutput } from "./schema.js";
import { convertWhiteouts, opaqueListArgs, parseOpaqueDirs } from "./whiteouts.js";

/**
 * GNU tar's flags for the same bytes from the same tree: entries sorted, numeric owners, pax
 * headers without atime/ctime and named without tar's PID, every time clamped to the epoch
 * (the module's times already are; a directory whose whiteouts were just rewritten is not).
 */
export function reproducibleTarArgs(epoch: number): string[] {
  return [
    "--sort=name",
    "--numeric-owner",
    "--format=posix",
    "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
    `--mtime=@${epoch}`,
    "--clamp-mtime",
  ];
}

/** tar's arguments for a layer: every xattr but overlayfs's own. */
export function layerTarArgs(root: string, file: string, epoch: number): string[] {
  return [
    "-C",
    root,
    ...reproducibleTarArgs(epoch),
    "--xattrs",
    "--xattrs-include=*",
    "--xattrs-exclude=trusted.overlay.*",
    "-cf",
    file,
    ".",
  ];
}

/** The compressor's arguments, writing `${tar}${suffix}` beside `tar` (kept). */
export const COMPRESSORS = {
  gzip: { suffix: ".gz", args: (tar: string) => ["-n", "-k", "-q", tar] },
  // One thread: zstd's output is then the same on every machine.
  zstd: { suffix: ".zst", args: (tar: string) => ["-q", "-k", "-T1", tar] },
} as const;

/** Writes `layer`'s blob into the layout's blobs/ (via `work`, removed after) and describes it. */
export async function writeLayerBlob(
  layer: StackLayer,
  o: OciOutput,
  env: OutputEnv,
  work: string,
  layout: string,
): Promise<LayerBlob> {
  const root = join(work, "root");
  const tar = join(work, "layer.tar");
  mkdirSync(work, { recursive: true });
  try {
    await env.run("unsquashfs", ["-d", root, "-no-progress", "-quiet", layer.module]);
    const listing = await env.run("getfattr", opaqueListArgs(root));
    const converted = convertWhiteouts(root, parseOpaqueDirs(listing.stdout, root));
    env.reporter.detail(
      `${layer.name}: ${converted.whiteouts} whiteouts, ${converted.opaque} opaque directories`,
    );
    await env.run("tar", layerTarArgs(root, tar, env.epoch));
    rmSync(root, { recursive: true, force: true });

    const diffId = `sha256:${await fileSha256(tar)}`;
    let blob = tar;
    if (o.compression !== "none") {
      const c = COMPRESSORS[o.compression];
      await env.run(o.compression, c.args(tar));
      blob = `${tar}${c.suffix}`;
    }
    const digest = `sha256:${await fileSha256(blob)}`;
    const size = statSync(blob).size;
    renameSync(blob, blobPath(layout, digest));
    return { name: layer.name, key: layer.key, digest, size, diffId };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
