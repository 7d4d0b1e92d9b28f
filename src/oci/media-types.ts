/**
 * The media types of the OCI image spec (v1.1) that strata writes and reads: the `oci` output
 * writes an image layout with them, and a reader of such layouts (an OCI bootstrap) tells
 * manifests, configs and layer blobs apart by them. Docker's v2 schema 2 types are listed too
 * because images that came from Docker registries carry them and mean the same.
 */
export const MEDIA_TYPES = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layerTar: "application/vnd.oci.image.layer.v1.tar",
  layerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  layerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
} as const;

/** Docker's equivalents, which readers of pulled images meet (skopeo keeps them). */
export const DOCKER_MEDIA_TYPES = {
  manifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  manifest: "application/vnd.docker.distribution.manifest.v2+json",
  config: "application/vnd.docker.container.image.v1+json",
  layerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
} as const;

/** How a layer blob is compressed, by its media type (undefined: not a layer type known here). */
export function layerCompression(mediaType: string): "none" | "gzip" | "zstd" | undefined {
  switch (mediaType) {
    case MEDIA_TYPES.layerTar:
      return "none";
    case MEDIA_TYPES.layerGzip:
    case DOCKER_MEDIA_TYPES.layerGzip:
      return "gzip";
    case MEDIA_TYPES.layerZstd:
      return "zstd";
    default:
      return undefined;
  }
}

/** The layer media type for a compression. */
export function layerMediaType(compression: "none" | "gzip" | "zstd"): string {
  return { none: MEDIA_TYPES.layerTar, gzip: MEDIA_TYPES.layerGzip, zstd: MEDIA_TYPES.layerZstd }[
    compression
  ];
}

/** Annotation keys: OCI's own, and strata's on each layer descriptor. */
export const ANNOTATIONS = {
  refName: "org.opencontainers.image.ref.name",
  created: "org.opencontainers.image.created",
  title: "org.opencontainers.image.title",
  layerName: "org.strata.layer.name",
  layerKey: "org.strata.layer.key",
} as const;

/** Whiteout names in OCI layer tarballs (image-spec layer.md). */
export const WHITEOUT_PREFIX = ".wh.";
export const OPAQUE_WHITEOUT = ".wh..wh..opq";
