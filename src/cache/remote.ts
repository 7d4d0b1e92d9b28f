/**
 * A remote layer cache in an OCI registry (distribution/registry, Harbor, GitLab, GHCR, Zot…),
 * reached through Debian's skopeo: it already speaks the registry protocol with the credentials
 * container users keep (REGISTRY_AUTH_FILE, containers-auth.json, ~/.docker/config.json), TLS
 * with the system's CAs, a HEAD before each blob upload (a blob the registry holds is never
 * sent again) and cross-repository mounts. strata writes only what skopeo lacks: the artifact.
 *
 * One cache entry is one OCI artifact, tagged with its layer key (a hex sha256, a valid tag):
 *
 *   manifest  application/vnd.oci.image.manifest.v1+json
 *   config    application/vnd.strata.layer.meta.v1+json      the entry's meta.json
 *   layer     application/vnd.strata.layer.module.v1.squashfs  module.sqfs, by its sha256
 *
 * Locally the artifact is an OCI image layout in the cache's tmp/ (the module hard-linked in as
 * its blob), which skopeo copies to or from `docker://REF:KEY`. A pulled entry is checked before
 * it enters the cache: its meta must name the key, and the module's size and sha256 must be the
 * meta's and the manifest's. It then goes in through Cache.commit, whole or not at all.
 */
import { linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { StrataError } from "../errors.js";
import { run } from "../host/run.js";
import type { Descriptor } from "../oci/image-layout.js";
import { MEDIA_TYPES } from "../oci/media-types.js";
import { requireTools } from "../host/tools.js";
import { fileSha256, sha256 } from "./canonical.js";
import type { Cache, CacheEntry, LayerMeta } from "./store.js";

export const META_MEDIA_TYPE = "application/vnd.strata.layer.meta.v1+json";
export const MODULE_MEDIA_TYPE = "application/vnd.strata.layer.module.v1.squashfs";

export interface RemoteOptions {
  /** A credentials file (skopeo's --authfile); default: skopeo's own search */
  authFile?: string;
  /** Plain http or unverified TLS: only for a registry on the loopback interface */
  insecure?: boolean;
  /**
   * A directory of CA certificates (*.crt) and client certificates (*.cert, *.key) for the
   * registries (skopeo's --cert-dir): a private CA without adding it to the system's
   */
  certDir?: string;
}

interface ArtifactManifest {
  schemaVersion: 2;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

/** The host of `ref` (registry.example:5000/team/cache → registry.example:5000). */
export function registryHost(ref: string): string {
  return ref.split("/")[0] ?? "";
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/;

/** Checks a cache reference: REGISTRY/REPOSITORY, no tag or digest (the key is the tag). */
export function checkRemoteRef(ref: string, options: RemoteOptions = {}): void {
  if (!/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)+$/.test(ref) && !/^\[::1\]/.test(ref)) {
    throw new StrataError("E_USAGE", `${ref}: not a registry repository for a layer cache`, {
      hint: "REGISTRY/REPOSITORY without a tag, e.g. registry.example/team/strata-cache",
    });
  }
  if (options.insecure && !LOOPBACK.test(registryHost(ref))) {
    throw new StrataError(
      "E_USAGE",
      `--insecure is for a registry on this machine's loopback, not ${registryHost(ref)}`,
      {
        hint: "serve the registry over TLS (its CA in /etc/ssl/certs, /etc/containers/certs.d or --cert-dir)",
      },
    );
  }
}

function descriptor(mediaType: string, digest: string, size: number): Descriptor {
  return { mediaType, digest: `sha256:${digest}`, size };
}

/**
 * What the registry answers for a tag or a repository it does not have (the protocol's
 * MANIFEST_UNKNOWN and NAME_UNKNOWN): a miss, not a failure.
 */
const MISSING = /manifest unknown|name unknown/i;

/**
 * What skopeo says when the registry turns the credentials down (the protocol's UNAUTHORIZED
 * and DENIED): the same for every layer, so it is named apart from a registry that is down.
 */
const REFUSED =
  /unauthorized|authentication required|requested access to the resource is denied|invalid username\/password/i;

export class RemoteCache {
  /**
   * Set by the build (./remote-build.ts) once this registry could not be reached or refused
   * its credentials: it is not asked again in that build, so it costs one warning line.
   */
  down = false;

  constructor(
    readonly ref: string,
    private readonly options: RemoteOptions = {},
  ) {
    checkRemoteRef(ref, options);
    // Before the build starts: a missing skopeo names its package once, not per layer.
    requireTools(["skopeo"]);
  }

  /** skopeo's credentials and TLS flags: copy names the side (src, dest), inspect none. */
  private flags(side?: "src" | "dest"): string[] {
    const flags: string[] = [];
    if (this.options.authFile) flags.push("--authfile", this.options.authFile);
    if (this.options.certDir)
      flags.push(side ? `--${side}-cert-dir` : "--cert-dir", this.options.certDir);
    if (this.options.insecure)
      flags.push(side ? `--${side}-tls-verify=false` : "--tls-verify=false");
    return flags;
  }

  /**
   * Runs skopeo; `missing` when the registry has no such tag (a miss, not a failure). A blob
   * that does not match its digest is E_REMOTE_CACHE (skopeo checks each one as it copies);
   * credentials refused are E_REMOTE_AUTH; any other failure is E_REMOTE_UNAVAILABLE.
   */
  private async skopeo(
    args: string[],
    what: string,
    key: string,
    name: string,
  ): Promise<{ missing: boolean; stdout: string }> {
    const r = await run("skopeo", args, { reject: false, env: { LC_ALL: "C" } });
    if (r.exitCode === 0) return { missing: false, stdout: r.stdout };
    // skopeo's last line, without its logger's time= level= wrapping.
    const last = r.output.trim().split("\n").at(-1) ?? "";
    // An upload's location carries the registry's long session state: not worth a line.
    const said = (/msg="(.*)"$/.exec(last)?.[1] ?? last).replace(/\?_state=[^\s"\\]*/g, "");
    if (MISSING.test(said)) return { missing: true, stdout: "" };
    if (/digest did not match/i.test(said)) throw this.notThatLayer(key, name, said);
    if (REFUSED.test(said)) {
      const file = this.options.authFile ?? process.env.REGISTRY_AUTH_FILE;
      throw new StrataError(
        "E_REMOTE_AUTH",
        `${registryHost(this.ref)} refused the credentials ${file ? `of ${file}` : "skopeo found"} (${what} layer ${key.slice(0, 12)}… at ${this.ref}): ${said}`,
        {
          hint: `fix the entry for ${registryHost(this.ref)} in ${file ?? "the auth file (--authfile, $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json)"}, e.g. with skopeo login --authfile`,
        },
      );
    }
    throw new StrataError(
      "E_REMOTE_UNAVAILABLE",
      `${what} layer ${key.slice(0, 12)}… at ${this.ref} failed: ${said}`,
      {
        hint: /x509|certificate/i.test(said)
          ? "the registry's certificate is not trusted here: put its CA as ca.crt in a directory named by --cert-dir (or in /etc/containers/certs.d/HOST:PORT/)"
          : "check the registry's address and credentials (REGISTRY_AUTH_FILE, --authfile)",
      },
    );
  }

  /** E_REMOTE_CACHE: what the registry sent for `key` is not that layer. */
  private notThatLayer(key: string, name: string, why: string): StrataError {
    return new StrataError(
      "E_REMOTE_CACHE",
      `layer '${name}' (${key.slice(0, 12)}…) from ${this.ref} is not that layer: ${why}`,
      {
        hint: "it was discarded and the layer is built here; whoever pushed it should push it again",
      },
    );
  }

  /** The artifact for `key`, or undefined when the registry has none. */
  private async manifest(key: string, name: string): Promise<ArtifactManifest | undefined> {
    const args = ["inspect", "--raw", ...this.flags(), `docker://${this.ref}:${key}`];
    const r = await this.skopeo(args, "looking up", key, name);
    return r.missing ? undefined : (JSON.parse(r.stdout) as ArtifactManifest);
  }

  /** Pushes `entry` unless the registry already has it; says which. */
  async push(cache: Cache, entry: CacheEntry): Promise<"pushed" | "present"> {
    const { meta } = entry;
    const there = await this.manifest(meta.key, meta.name);
    if (there?.layers[0]?.digest === `sha256:${meta.digest}`) return "present";
    const layout = cache.workDir("push");
    try {
      const blobs = join(layout, "blobs", "sha256");
      mkdirSync(blobs, { recursive: true });
      linkSync(entry.module, join(blobs, meta.digest));
      const metaText = Buffer.from(JSON.stringify(meta));
      writeFileSync(join(blobs, sha256(metaText)), metaText);
      const manifest: ArtifactManifest = {
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.manifest,
        config: descriptor(META_MEDIA_TYPE, sha256(metaText), metaText.length),
        layers: [descriptor(MODULE_MEDIA_TYPE, meta.digest, meta.bytes)],
      };
      const manifestText = Buffer.from(JSON.stringify(manifest));
      writeFileSync(join(blobs, sha256(manifestText)), manifestText);
      writeFileSync(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
      const ref = { "org.opencontainers.image.ref.name": meta.key };
      const index = {
        schemaVersion: 2,
        manifests: [
          {
            ...descriptor(MEDIA_TYPES.manifest, sha256(manifestText), manifestText.length),
            annotations: ref,
          },
        ],
      };
      writeFileSync(join(layout, "index.json"), JSON.stringify(index));
      await this.skopeo(
        [
          "copy",
          "--quiet",
          ...this.flags("dest"),
          `oci:${layout}:${meta.key}`,
          `docker://${this.ref}:${meta.key}`,
        ],
        "pushing",
        meta.key,
        meta.name,
      );
      return "pushed";
    } finally {
      rmSync(layout, { recursive: true, force: true });
    }
  }

  /**
   * Pulls `key` into `cache` and returns the entry; undefined when the registry has none.
   * Throws E_REMOTE_CACHE when what it sent is not that layer (nothing enters the cache), and
   * E_REMOTE_UNAVAILABLE when it cannot be reached or refuses.
   */
  async pull(cache: Cache, key: string, name: string): Promise<CacheEntry | undefined> {
    const layout = cache.workDir("pull");
    try {
      const got = await this.skopeo(
        [
          "copy",
          "--quiet",
          ...this.flags("src"),
          `docker://${this.ref}:${key}`,
          `oci:${layout}:${key}`,
        ],
        "pulling",
        key,
        name,
      );
      if (got.missing) return undefined;
      const staged = join(layout, "entry");
      mkdirSync(staged);
      const meta = await this.checkPulled(layout, key, name, staged);
      writeFileSync(join(staged, "meta.json"), JSON.stringify(meta, null, 2));
      return await cache.commit(key, staged);
    } finally {
      rmSync(layout, { recursive: true, force: true });
    }
  }

  /** Checks the pulled artifact and moves its module to `staged`; returns its meta. */
  private async checkPulled(
    layout: string,
    key: string,
    name: string,
    staged: string,
  ): Promise<LayerMeta> {
    const bad = (why: string) => this.notThatLayer(key, name, why);
    const blob = (digest: string) =>
      join(layout, "blobs", "sha256", digest.replace(/^sha256:/, ""));
    try {
      const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
      const manifest = JSON.parse(
        readFileSync(blob(index.manifests[0].digest), "utf8"),
      ) as ArtifactManifest;
      const layer = manifest.layers[0];
      if (manifest.config.mediaType !== META_MEDIA_TYPE || layer?.mediaType !== MODULE_MEDIA_TYPE) {
        throw bad("it is not a strata layer artifact");
      }
      const meta = JSON.parse(readFileSync(blob(manifest.config.digest), "utf8")) as LayerMeta;
      if (meta.key !== key) throw bad(`its meta names the key ${String(meta.key).slice(0, 12)}…`);
      const module = blob(layer.digest);
      const bytes = statSync(module).size;
      const digest = await fileSha256(module);
      if (bytes !== meta.bytes || digest !== meta.digest || `sha256:${digest}` !== layer.digest) {
        throw bad(
          `its module has ${bytes} bytes and sha256 ${digest.slice(0, 12)}…, its meta says ${meta.bytes} and ${String(meta.digest).slice(0, 12)}…`,
        );
      }
      linkSync(module, join(staged, "module.sqfs"));
      return meta;
    } catch (e) {
      if (e instanceof StrataError) throw e;
      throw bad(`it cannot be read (${(e as Error).message})`);
    }
  }
}
