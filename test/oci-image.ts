/**
 * Small OCI images for the tests, written the way any image tool writes them (tar layers,
 * gzip, sha256-named blobs, an index), so that strata's reader is checked against the format
 * rather than against its own writer.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";

/** A layer: paths to file contents, or `{ link }` for a symlink, or `{ dir: true }`. */
export type TestLayer = Record<string, string | { link: string } | { dir: true }>;

/** The host's busybox as the image's /bin/sh, with the libraries it loads (ldd's list). */
function addBusybox(tree: string): void {
  const libs = execFileSync("ldd", ["/bin/busybox"], { encoding: "utf8" })
    .split("\n")
    .map((l) => /(\/\S+) \(0x/.exec(l)?.[1])
    .filter((l): l is string => l !== undefined);
  for (const file of ["/bin/busybox", ...libs]) {
    mkdirSync(join(tree, dirname(file)), { recursive: true });
    execFileSync("cp", ["-L", file, join(tree, file)]);
  }
  symlinkSync("busybox", join(tree, "bin", "sh"));
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Writes an OCI image layout in `dir/layout` and its archive `dir/image.tar`; returns both. */
export function writeOciImage(
  dir: string,
  layers: readonly TestLayer[],
  options: { arch?: string; busybox?: boolean; noDirEntries?: number[] } = {},
): { layout: string; archive: string; manifestDigest: string } {
  const layout = join(dir, "layout");
  const blobs = join(layout, "blobs", "sha256");
  mkdirSync(blobs, { recursive: true });
  const put = (data: Buffer) => {
    const hex = sha(data);
    writeFileSync(join(blobs, hex), data);
    return { digest: `sha256:${hex}`, size: data.length };
  };
  const descriptors = [];
  const diffIds = [];
  for (const [i, layer] of layers.entries()) {
    const tree = join(dir, `layer-${i}`);
    mkdirSync(tree, { recursive: true });
    for (const [path, what] of Object.entries(layer)) {
      const file = join(tree, path);
      mkdirSync(dirname(file), { recursive: true });
      if (typeof what === "string") writeFileSync(file, what);
      else if ("link" in what) symlinkSync(what.link, file);
      else mkdirSync(file, { recursive: true });
    }
    if (i === 0 && options.busybox !== false) addBusybox(tree);
    // A layer whose members name files only (as some tools write them) has no entry for the
    // directories on their way.
    const members = options.noDirEntries?.includes(i)
      ? execFileSync("find", [".", "-mindepth", "1", "!", "-type", "d"], {
          cwd: tree,
          encoding: "utf8",
        })
          .trim()
          .split("\n")
      : ["."];
    const tar = execFileSync(
      "tar",
      [
        "-C",
        tree,
        ...(members[0] === "." ? [] : ["--no-recursion"]),
        "--sort=name",
        "--owner=0",
        "--group=0",
        "--numeric-owner",
        "--mtime=@0",
        "-cf",
        "-",
        ...members,
      ],
      { maxBuffer: 1 << 30 },
    );
    diffIds.push(`sha256:${sha(tar)}`);
    const gz = execFileSync("gzip", ["-n", "-c"], { input: tar, maxBuffer: 1 << 30 });
    descriptors.push({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...put(gz) });
  }
  const config = put(
    Buffer.from(
      JSON.stringify({
        architecture: options.arch ?? "amd64",
        os: "linux",
        config: { Cmd: ["/bin/sh"] },
        rootfs: { type: "layers", diff_ids: diffIds },
      }),
    ),
  );
  const manifest = put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
        layers: descriptors,
      }),
    ),
  );
  writeFileSync(join(layout, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(layout, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          ...manifest,
          annotations: { "org.opencontainers.image.ref.name": "test" },
        },
      ],
    }),
  );
  const archive = join(dir, "image.tar");
  execFileSync("tar", ["-C", layout, "-cf", `${archive}.part`, "."]);
  renameSync(`${archive}.part`, archive);
  return { layout, archive, manifestDigest: manifest.digest };
}

/**
 * A tree as two equal trees share it: each entry's path, type and mode, owner, and its content's
 * digest or its link's target (not times: an image's files are stamped when it is unpacked).
 */
export function treeListing(root: string): string[] {
  const lines: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, path));
      const what = st.isSymbolicLink()
        ? `-> ${readlinkSync(join(root, path))}`
        : st.isFile()
          ? sha(readFileSync(join(root, path)))
          : "";
      lines.push(`${path} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${what}`);
      if (st.isDirectory()) walk(path);
    }
  };
  walk("");
  return lines;
}
