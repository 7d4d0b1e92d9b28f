/**
 * `type: oci`: the output's stack as an OCI image that podman, docker, skopeo and every
 * registry take, one image layer per strata layer (bottom first), so images of recipes that
 * share layers share blobs too:
 *
 *   <name>.oci.tar   (format: tar, default) the image layout as one tar:
 *                    `podman load -i`, `docker load -i` (Docker 25+), `skopeo copy oci-archive:`
 *   <name>.oci/      (format: dir) the layout itself: `skopeo copy oci:<name>.oci ...`
 *     oci-layout, index.json, blobs/sha256/<hex>: layers, config, manifest
 *
 * Options: `compression` (gzip, the default every runtime reads; zstd; none), `tag` (the
 * reference name in index.json, default `<name>:latest`), and the image config a Dockerfile
 * would set: `entrypoint`, `cmd` (exec arrays), `env` (a map; PATH is Debian's unless given),
 * `workdir`, `user`, `labels`, `exposed_ports`. The config's `created` and every file time is
 * the build's SOURCE_DATE_EPOCH, so the same layers give the same digests.
 *
 * Each layer's module is unpacked and its overlayfs whiteouts become OCI's (a deleted file is
 * `.wh.NAME`, a replaced directory holds `.wh..wh..opq`); overlayfs's own xattrs are left out,
 * all others (capabilities, user.*) kept. Each layer descriptor is annotated with the strata
 * layer's name and key (`org.strata.layer.name`, `org.strata.layer.key`), and the config's
 * history has one entry per layer. Not carried: POSIX ACLs (docker and podman drop them too).
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { blobPath, INDEX_FILE, LAYOUT_FILE } from "../../oci/image-layout.js";
import { replaceDirectory } from "../replace-dir.js";
import type { OutputInput, OutputPlugin } from "../types.js";
import { reproducibleTarArgs, writeLayerBlob } from "./layer-blob.js";
import { imageDocuments, type JsonBlob, type LayerBlob, ociLayoutFile } from "./layout.js";
import { OciOutput } from "./schema.js";

const writeBlob = (layout: string, blob: JsonBlob) =>
  writeFileSync(blobPath(layout, blob.descriptor.digest), blob.bytes);

async function writeOci(input: OutputInput<OciOutput>): Promise<void> {
  const { output: o, env, stack, name, scratch } = input;
  const layout = join(scratch, "layout");
  mkdirSync(join(layout, "blobs", "sha256"), { recursive: true });

  const layers: LayerBlob[] = [];
  for (const [i, layer] of stack.layers.entries()) {
    env.reporter.status(`oci ${name}: layer ${i + 1}/${stack.layers.length} (${layer.name})`);
    layers.push(await writeLayerBlob(layer, o, env, join(scratch, `layer-${i}`), layout));
  }
  const docs = imageDocuments(o, name, env.distro.arch, env.epoch, layers);
  writeBlob(layout, docs.config);
  writeBlob(layout, docs.manifest);
  writeFileSync(join(layout, INDEX_FILE), `${JSON.stringify(docs.index, null, 2)}\n`);
  writeFileSync(join(layout, LAYOUT_FILE), JSON.stringify(ociLayoutFile()));

  if (o.format === "dir") return replaceDirectory(layout, input.target);
  env.reporter.status(`oci ${name}: archive`);
  const archive = join(scratch, "image.oci.tar");
  await env.run("tar", [
    "-C",
    layout,
    ...reproducibleTarArgs(env.epoch),
    "--owner=0",
    "--group=0",
    "-cf",
    archive,
    LAYOUT_FILE,
    INDEX_FILE,
    "blobs",
  ]);
  renameSync(archive, input.target);
}

export const ociOutput: OutputPlugin<OciOutput> = {
  type: "oci",
  schema: OciOutput,
  tools: (o) => [
    "unsquashfs",
    "getfattr",
    "tar",
    ...(o.compression === "none" ? [] : [o.compression]),
  ],
  fileName: (o, name) => (o.format === "dir" ? `${name}.oci` : `${name}.oci.tar`),
  write: writeOci,
};
