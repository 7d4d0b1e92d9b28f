/**
 * The documents of an OCI image layout (image-spec v1.1: image-layout.md, image-index.md,
 * manifest.md, config.md), typed for writers and readers: `oci-layout`, `index.json` and the
 * content-addressed `blobs/<alg>/<hex>` that hold manifests, configs and layers. Only the
 * fields strata writes or needs to read are typed; readers should ignore the rest, as the
 * spec says.
 */
import { join } from "node:path";
import { StrataError } from "../errors.js";

export const LAYOUT_FILE = "oci-layout";
export const INDEX_FILE = "index.json";
export const LAYOUT_VERSION = "1.0.0";

export interface OciLayoutFile {
  imageLayoutVersion: string;
}

/** A pointer to a blob: its media type, `sha256:<hex>` digest and size in bytes. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

/** What the container runs, as Dockerfile instructions set it. */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  Labels?: Record<string, string>;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig extends Platform {
  created?: string;
  config?: ContainerConfig;
  rootfs: { type: "layers"; diff_ids: string[] };
  history?: HistoryEntry[];
}

/** The path of a blob in a layout directory; refuses digests that are not sha256 hex. */
export function blobPath(layout: string, digest: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m) {
    throw new StrataError("E_OUTPUT", `not a sha256 digest: ${digest}`, {
      hint: "an OCI descriptor's digest is sha256:<64 lower-case hex digits>",
    });
  }
  return join(layout, "blobs", "sha256", m[1] as string);
}

/** Debian's architecture as OCI (Go's GOARCH) names it. */
export function ociPlatform(arch: string): Platform {
  if (arch === "armhf") return { architecture: "arm", os: "linux", variant: "v7" };
  return { architecture: arch, os: "linux" };
}
