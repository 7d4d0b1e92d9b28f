/**
 * Where `bootstrap: { oci: ... }` finds its image, and which image that is now. A value with
 * `docker://` is a registry reference (skopeo's transport name, so that nothing else is taken
 * for one); anything else is a path beside the recipe: an OCI archive (the `.tar` that
 * `skopeo copy oci-archive:`, `podman save --format oci-archive` or strata's `oci` output
 * writes) or an OCI image layout directory.
 *
 * The layer's cache key covers the image's digest (the manifest, or the index of a
 * multi-architecture image), not the reference: a tag that moves is a new key, and the same
 * image in two archives is one.
 */
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { StrataError } from "../errors.js";
import { run } from "../host/run.js";
import type { SemanticProblem } from "../recipe/verify.js";
import { sourceProblem } from "../steps/copy.js";

export type OciSource =
  | { kind: "registry"; ref: string }
  | { kind: "archive"; path: string }
  | { kind: "layout"; path: string };

/** How strata reaches a registry (the same flags as the remote cache's). */
export interface RegistryAccess {
  authFile?: string;
  /** A directory of CA certificates for the registry (skopeo's --cert-dir) */
  certDir?: string;
  insecure?: boolean;
}

const REGISTRY = "docker://";
/** HOST[:PORT]/NAME[/NAME...] with a tag or a digest, or neither (skopeo's :latest). */
const REFERENCE =
  /^[a-z0-9.-]+(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)+(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(@sha256:[0-9a-f]{64})?$/;
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost)(:\d+)?$/;

/** The source named by `value`; paths are relative to the recipe's directory. */
export function parseOciSource(value: string, recipeDir: string): OciSource {
  if (value.startsWith(REGISTRY)) return { kind: "registry", ref: value.slice(REGISTRY.length) };
  const path = resolve(recipeDir, value);
  return { kind: statSync(path).isDirectory() ? "layout" : "archive", path };
}

/** What is wrong with `value` before anything is built (no network). */
export function ociSourceProblem(
  value: string,
  recipeDir: string,
): Omit<SemanticProblem, "path"> | undefined {
  if (value.startsWith(REGISTRY)) {
    const ref = value.slice(REGISTRY.length);
    return REFERENCE.test(ref)
      ? undefined
      : {
          message: `'${value}' is not a registry image reference`,
          hint: "docker://HOST/NAME:TAG or docker://HOST/NAME@sha256:DIGEST",
        };
  }
  const problem = sourceProblem(value, recipeDir);
  if (!problem) return undefined;
  return {
    ...problem,
    hint: `${problem.hint}; an image in a registry is written docker://HOST/NAME:TAG`,
  };
}

/** skopeo's name for the source. */
export function skopeoName(source: OciSource): string {
  if (source.kind === "registry") return `${REGISTRY}${source.ref}`;
  return `${source.kind === "archive" ? "oci-archive" : "oci"}:${source.path}`;
}

/** skopeo's flags for reading from `source` (`side` for copy, none for inspect). */
export function readFlags(source: OciSource, access: RegistryAccess, side?: "src"): string[] {
  if (source.kind !== "registry") return [];
  const flags: string[] = [];
  if (access.authFile) flags.push(side ? "--src-authfile" : "--authfile", access.authFile);
  if (access.certDir) flags.push(side ? "--src-cert-dir" : "--cert-dir", access.certDir);
  const host = source.ref.split("/")[0] ?? "";
  if (access.insecure && LOOPBACK.test(host)) {
    flags.push(side ? "--src-tls-verify=false" : "--tls-verify=false");
  }
  return flags;
}

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

interface IndexEntry {
  mediaType?: string;
  digest: string;
  platform?: { architecture?: string; os?: string };
}

/** The one entry of an image index (`index.json`) for `arch`. */
export function pickIndexEntry(indexJson: string, arch: string, where: string): IndexEntry {
  let entries: IndexEntry[];
  try {
    entries = (JSON.parse(indexJson) as { manifests?: IndexEntry[] }).manifests ?? [];
  } catch {
    throw new StrataError("E_OCI_IMAGE", `${where}: its index.json is not JSON`, {
      hint: "give an OCI archive or layout (skopeo copy ... oci-archive:FILE writes one)",
    });
  }
  const fits = entries.filter((e) => !e.platform?.architecture || e.platform.architecture === arch);
  if (fits.length === 1 && fits[0] && /^sha256:[0-9a-f]{64}$/.test(fits[0].digest)) return fits[0];
  throw new StrataError(
    "E_OCI_IMAGE",
    `${where}: ${fits.length === 0 ? `no image for ${arch}` : `${fits.length} images for ${arch}; strata takes an archive of one`} (${entries.length} in its index)`,
    { hint: "export one image: skopeo copy --override-arch ARCH SRC oci-archive:FILE" },
  );
}

/** `index.json` of an archive or a layout, read without unpacking anything else. */
async function localIndex(source: OciSource & { kind: "archive" | "layout" }): Promise<string> {
  if (source.kind === "layout") return readFileSync(resolve(source.path, "index.json"), "utf8");
  // A layout tarred from inside its directory names it ./index.json.
  let r = await run("tar", ["-xOf", source.path, "index.json"], { reject: false });
  if (r.exitCode !== 0)
    r = await run("tar", ["-xOf", source.path, "./index.json"], { reject: false });
  if (r.exitCode !== 0) {
    throw new StrataError("E_OCI_IMAGE", `${source.path}: not an OCI archive (no index.json)`, {
      hint: "an OCI archive is a tar of an image layout: oci-layout, index.json, blobs/",
    });
  }
  return r.stdout;
}

/**
 * The image's digest as "sha256:HEX": a registry's manifest (or index) as it answers now, or
 * the entry for `arch` in an archive's or layout's index.
 */
export async function imageDigest(
  source: OciSource,
  arch: string,
  access: RegistryAccess = {},
): Promise<string> {
  if (source.kind !== "registry") {
    return pickIndexEntry(await localIndex(source), arch, source.path).digest;
  }
  const pinned = /@(sha256:[0-9a-f]{64})$/.exec(source.ref)?.[1];
  if (pinned) return pinned;
  const args = ["inspect", "--raw", ...readFlags(source, access), skopeoName(source)];
  const r = await run("skopeo", args, { reject: false, env: { LC_ALL: "C" } });
  if (r.exitCode !== 0) {
    const last = r.output.trim().split("\n").at(-1) ?? "";
    throw new StrataError(
      "E_OCI_IMAGE",
      `${skopeoName(source)}: ${/msg="(.*)"$/.exec(last)?.[1] ?? last}`,
      {
        hint: "check the reference and the registry's credentials (REGISTRY_AUTH_FILE, --authfile)",
      },
    );
  }
  return `sha256:${sha256(r.stdout)}`;
}
