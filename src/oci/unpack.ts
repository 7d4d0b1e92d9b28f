/**
 * Unpacks an OCI image into a directory, as the first layer of a stack
 * (`bootstrap: { oci: ... }`). skopeo brings the image into a private image layout (it speaks
 * the registry protocol, reads archives and checks every blob's digest); then each layer, bottom
 * first, has its whiteouts applied to what the layers below made (from Node, never through a
 * symlink) and its files extracted by tar.
 *
 * tar runs in a bubblewrap sandbox where the tree is the only writable place: the host's /usr
 * is read-only, there is no /proc, no network and only the capabilities that extracting needs.
 * A symlink that an image's lower layer planted (`etc -> /etc`) so that an upper layer's files
 * land on the build host finds a read-only or empty file system there. GNU tar itself delays the
 * symlinks of the layer it extracts, so one member cannot redirect the next.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { StrataError } from "../errors.js";
import { emptyDirInRoot, removeTreeInRoot } from "../host/in-root.js";
import type { Namespace } from "../host/namespace.js";
import { run, tail } from "../host/run.js";
import { hostSystemBinds } from "../host/system-binds.js";
import {
  type OciSource,
  pickIndexEntry,
  type RegistryAccess,
  readFlags,
  skopeoName,
} from "./source.js";
import { blobPath, type ImageConfig, type ImageManifest, ociPlatform } from "./image-layout.js";
import { layerCompression } from "./media-types.js";
import { whiteoutPlan } from "./whiteouts.js";

/** What extracting a layer may need of root's powers: owners, modes, file capabilities. */
const TAR_CAPABILITIES = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_MKNOD",
  "CAP_SETFCAP",
];

export interface UnpackRequest {
  source: OciSource;
  /** The digest the layer's key covers ("sha256:..."), from `imageDigest` */
  digest: string;
  arch: string;
  access: RegistryAccess;
  /** The directory to make (it must not exist) */
  root: string;
  /** Scratch space on the same file system */
  work: string;
  ns: Namespace;
  /** The recipe field, for errors */
  label: string;
  onLine?: (line: string) => void;
}

/** The argv that extracts one layer blob into `root` in the sandbox (a pure function). */
export function extractArgv(root: string, blob: string, binds: readonly string[]): string[] {
  return [
    "bwrap",
    // Not --unshare-all: its user namespace maps uid 0 alone, and an image has other owners.
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-net",
    "--unshare-cgroup-try",
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
    ...TAR_CAPABILITIES.flatMap((c) => ["--cap-add", c]),
    ...binds,
    "--dev",
    "/dev",
    "--tmpfs",
    "/tmp",
    "--bind",
    root,
    "/tmp/root",
    "--ro-bind",
    blob,
    "/tmp/layer",
    "tar",
    "-x",
    "-f",
    "/tmp/layer",
    "-C",
    "/tmp/root",
    "--numeric-owner",
    "--same-owner",
    "--same-permissions",
    "--xattrs",
    "--xattrs-include=*",
    "--exclude=.wh.*",
  ];
}

/** A registry reference pinned to the digest its key covers. */
function pinned(source: OciSource, digest: string): string {
  if (source.kind !== "registry") return skopeoName(source);
  const name = source.ref.replace(/@sha256:[0-9a-f]{64}$/, "").replace(/:[^/:]+$/, "");
  return `docker://${name}@${digest}`;
}

function readJson<T>(file: string, what: string): T {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as T;
  } catch {
    throw new StrataError("E_OCI_IMAGE", `${what} is not JSON`, {
      hint: "the image is damaged; export it again",
    });
  }
}

export async function unpackOciImage(req: UnpackRequest): Promise<void> {
  const layout = join(req.work, "oci-image");
  const blob = (digest: string) => blobPath(layout, digest);
  const from = skopeoName(req.source);
  const platform = ociPlatform(req.arch);
  const copy = await run(
    "skopeo",
    [
      "copy",
      "--quiet",
      "--override-os",
      "linux",
      "--override-arch",
      platform.architecture,
      ...(platform.variant ? ["--override-variant", platform.variant] : []),
      ...readFlags(req.source, req.access, "src"),
      pinned(req.source, req.digest),
      `oci:${layout}:strata`,
    ],
    { reject: false, env: { LC_ALL: "C" } },
  );
  if (copy.exitCode !== 0) {
    const last = copy.output.trim().split("\n").at(-1) ?? "";
    throw new StrataError(
      "E_OCI_IMAGE",
      `${req.label}: skopeo could not copy ${from}: ${/msg="(.*)"$/.exec(last)?.[1] ?? last}`,
      { hint: "check the reference (and the registry's credentials), or the archive" },
    );
  }
  const entry = pickIndexEntry(readFileSync(join(layout, "index.json"), "utf8"), req.arch, from);
  if (req.source.kind !== "registry" && entry.digest !== req.digest) {
    throw new StrataError(
      "E_OCI_IMAGE",
      `${req.label}: ${from} changed while strata read it (${entry.digest}, planned ${req.digest})`,
      { hint: "build again once the archive is written" },
    );
  }
  const manifest = readJson<ImageManifest>(blob(entry.digest), `${from}'s manifest`);
  const config = readJson<Partial<ImageConfig>>(blob(manifest.config.digest), `${from}'s config`);
  const want = platform.architecture;
  if (config.architecture !== want || (config.os ?? "linux") !== "linux") {
    throw new StrataError(
      "E_OCI_IMAGE",
      `${req.label}: ${from} is an image for ${config.os}/${config.architecture}, the recipe builds linux/${want}`,
      { hint: "set distro.arch to the image's architecture, or name an image for this one" },
    );
  }
  const bad = manifest.layers.find((l) => layerCompression(l.mediaType) === undefined);
  if (bad) {
    throw new StrataError(
      "E_OCI_IMAGE",
      `${req.label}: ${from} has a layer of type ${bad.mediaType}, which strata cannot unpack`,
      { hint: "strata unpacks tar layers: plain, gzip or zstd" },
    );
  }

  mkdirSync(req.root, { mode: 0o755 });
  const view = req.ns.view(req.root);
  const binds = hostSystemBinds();
  for (const [i, layer] of manifest.layers.entries()) {
    req.onLine?.(`layer ${i + 1}/${manifest.layers.length}: ${layer.digest} (${layer.size} bytes)`);
    const file = blob(layer.digest);
    const listing = await run("tar", ["-t", "-f", file, "--quoting-style=c"], { ns: req.ns });
    const plan = whiteoutPlan(listing.stdout.split("\n"));
    for (const dir of plan.opaque) emptyDirInRoot(view, dir);
    for (const path of plan.remove) removeTreeInRoot(view, path);
    const argv = extractArgv(req.root, file, binds);
    const r = await run(argv[0] as string, argv.slice(1), { ns: req.ns, reject: false });
    if (r.exitCode !== 0) {
      throw new StrataError(
        "E_OCI_IMAGE",
        `${req.label}: layer ${i + 1} of ${from} (${layer.digest}) could not be unpacked:\n${tail(r.output, 10)}`,
        {
          hint: "tar unpacks where only the tree is writable: a file under a symlink that leads out of the tree cannot be written",
        },
      );
    }
  }
}
