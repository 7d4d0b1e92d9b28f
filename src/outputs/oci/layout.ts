/**
 * The JSON documents of the `oci` output's image layout, built from the recipe's options and
 * the layer blobs already written: the image config, the manifest and index.json. Pure (no
 * files), so the exact documents are unit-tested. Blobs are canonical JSON (sorted keys, no
 * whitespace), so equal inputs give equal bytes, hence equal digests.
 */
import type {
  ContainerConfig,
  Descriptor,
  ImageConfig,
  ImageIndex,
  ImageManifest,
  OciLayoutFile,
  Platform,
} from "../../oci/image-layout.js";
import { canonical, sha256 } from "../../cache/canonical.js";
import { LAYOUT_VERSION, ociPlatform } from "../../oci/image-layout.js";
import { ANNOTATIONS, MEDIA_TYPES, layerMediaType } from "../../oci/media-types.js";
import type { OciOutput } from "./schema.js";

/** Debian's default PATH (what Debian's own container images set). */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** One strata layer as an image layer: its blob (compressed) and its diff_id (uncompressed). */
export interface LayerBlob {
  name: string;
  key: string;
  /** `sha256:<hex>` of the blob as stored */
  digest: string;
  size: number;
  /** `sha256:<hex>` of the uncompressed tar */
  diffId: string;
}

/** A blob ready to write: its bytes and its descriptor. */
export interface JsonBlob {
  bytes: Buffer;
  descriptor: Descriptor;
}

/** SOURCE_DATE_EPOCH as RFC 3339, without milliseconds. */
export function rfc3339(epoch: number): string {
  return new Date(epoch * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The image's reference name: the `tag` option, else `<name>:latest` (lower-cased). */
export function refName(output: Pick<OciOutput, "tag">, name: string): string {
  return output.tag ?? `${name.toLowerCase()}:latest`;
}

/** The container config from the recipe's options; fields not given are left out. */
export function containerConfig(o: OciOutput): ContainerConfig {
  const env = { PATH: DEFAULT_PATH, ...o.env };
  const c: ContainerConfig = {};
  if (o.user !== undefined) c.User = o.user;
  if (o.exposed_ports?.length) {
    const port = (p: string | number) => (/\//.test(String(p)) ? String(p) : `${p}/tcp`);
    c.ExposedPorts = Object.fromEntries(o.exposed_ports.map((p) => [port(p), {}]));
  }
  c.Env = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  if (o.entrypoint) c.Entrypoint = [...o.entrypoint];
  if (o.cmd) c.Cmd = [...o.cmd];
  if (o.workdir !== undefined) c.WorkingDir = o.workdir;
  if (o.labels && Object.keys(o.labels).length > 0) c.Labels = { ...o.labels };
  return c;
}

export function imageConfig(
  o: OciOutput,
  arch: string,
  epoch: number,
  layers: readonly LayerBlob[],
): ImageConfig {
  const created = rfc3339(epoch);
  return {
    created,
    ...ociPlatform(arch),
    config: containerConfig(o),
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((l) => ({
      created,
      created_by: `strata layer ${l.name}`,
      comment: `key ${l.key}`,
    })),
  };
}

export function imageManifest(
  config: Descriptor,
  layers: readonly LayerBlob[],
  compression: OciOutput["compression"],
  epoch: number,
): ImageManifest {
  return {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config,
    layers: layers.map((l) => ({
      mediaType: layerMediaType(compression),
      digest: l.digest,
      size: l.size,
      annotations: { [ANNOTATIONS.layerName]: l.name, [ANNOTATIONS.layerKey]: l.key },
    })),
    annotations: { [ANNOTATIONS.created]: rfc3339(epoch) },
  };
}

export function imageIndex(manifest: Descriptor, ref: string, platform: Platform): ImageIndex {
  return {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.index,
    manifests: [{ ...manifest, platform, annotations: { [ANNOTATIONS.refName]: ref } }],
  };
}

export const ociLayoutFile = (): OciLayoutFile => ({ imageLayoutVersion: LAYOUT_VERSION });

/** The bytes of a JSON document and its descriptor (the digest is of exactly these bytes). */
export function layoutJson(mediaType: string, value: unknown): JsonBlob {
  const bytes = Buffer.from(canonical(value), "utf8");
  const digest = `sha256:${sha256(bytes)}`;
  return { bytes, descriptor: { mediaType, digest, size: bytes.length } };
}

/** Config, manifest and index of an image made of `layers`, bottom first. */
export function imageDocuments(
  o: OciOutput,
  name: string,
  arch: string,
  epoch: number,
  layers: readonly LayerBlob[],
): { config: JsonBlob; manifest: JsonBlob; index: ImageIndex } {
  const config = layoutJson(MEDIA_TYPES.config, imageConfig(o, arch, epoch, layers));
  const manifest = layoutJson(
    MEDIA_TYPES.manifest,
    imageManifest(config.descriptor, layers, o.compression, epoch),
  );
  return {
    config,
    manifest,
    index: imageIndex(manifest.descriptor, refName(o, name), ociPlatform(arch)),
  };
}
