/**
 * The oci output run by Debian's podman (rootful, its storage in the test's directory, every
 * command in a private namespace: test/podman.ts). Three layers: examples/minimal's base
 * (cached), one that writes files and a directory, and one that deletes a file and replaces
 * that directory. The image shows a file from each layer, not the deleted one, only the new
 * directory's file, and runs the recipe's entrypoint, cmd, env and workdir. The same stack
 * written again (as a directory, zstd) has the same uncompressed layers: the same diff_ids.
 */
import assert from "node:assert/strict";
import { copyFileSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ImageConfig, ImageIndex, ImageManifest } from "../../src/oci/image-layout.js";
import { blobPath } from "../../src/oci/image-layout.js";
import { ANNOTATIONS, MEDIA_TYPES } from "../../src/oci/media-types.js";
import { buildWithCli, needsRoot, tempDir, writeRecipe } from "../helpers.js";
import { treeListing } from "../oci-image.js";
import { PODMAN_SKIP, podmanIn, RUN_FLAGS } from "../podman.js";

const RECIPE = `name: ocitest
distro: { suite: trixie, arch: amd64 }
layers:
  - name: base
    bootstrap: { variant: minbase, packages: [ca-certificates] }
  - name: files
    steps:
      - write: { path: /etc/strata-a, content: "from files\\n" }
      - write: { path: /etc/strata-gone, content: "deleted above\\n" }
      - run: mkdir -p /opt/dir/sub && echo 1 > /opt/dir/old && echo 2 > /opt/dir/sub/old
  - name: top
    steps:
      - run: rm /etc/strata-gone && rm -rf /opt/dir && mkdir /opt/dir && echo 3 > /opt/dir/new
      - write: { path: /etc/strata-b, content: "from top\\n" }
outputs:
  - type: oci
    name: img
    tag: strata-test/img:1
    entrypoint: [/bin/sh, -c]
    cmd: ['echo "$GREETING from $(pwd)"']
    env: { GREETING: hello }
    workdir: /opt/dir
    labels: { org.example.answer: "42" }
  - { type: oci, name: again, format: dir, compression: zstd }
  - { type: dir, name: tree }
`;

/** A layout's index, manifest and config, read the way an OCI reader would. */
function readLayout(dir: string) {
  const json = <T>(path: string) => JSON.parse(readFileSync(path, "utf8")) as T;
  const index = json<ImageIndex>(join(dir, "index.json"));
  const manifest = json<ImageManifest>(blobPath(dir, index.manifests[0]?.digest ?? ""));
  const config = json<ImageConfig>(blobPath(dir, manifest.config.digest));
  return { index, manifest, config };
}

describe("oci output, run by podman", { skip: needsRoot || PODMAN_SKIP }, () => {
  const work = tempDir("strata-oci-");
  const out = join(work, "out");
  const { podman, skopeo, reset } = podmanIn(join(work, "podman"));
  const image = "strata-test/img:1";
  const run = (...command: string[]) => {
    const r = podman("run", ...RUN_FLAGS, image, ...command);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };

  let recipe: string;

  before(() => {
    recipe = writeRecipe(RECIPE);
    buildWithCli(recipe, out);
    const r = podman("load", "--quiet", "--input", join(out, "img.oci.tar"));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /strata-test\/img:1/);
  });
  after(() => {
    reset();
    rmSync(dirname(recipe), { recursive: true, force: true });
    const mountinfo = readFileSync("/proc/self/mountinfo", "utf8");
    rmSync(work, { recursive: true, force: true });
    assert.deepEqual(
      mountinfo.split("\n").filter((l) => l.includes(work)),
      [],
    );
    const left = readdirSync("/proc").filter((pid) => {
      try {
        return /^\d+$/.test(pid) && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(work);
      } catch {
        return false;
      }
    });
    assert.deepEqual(left, [], "processes left that name the test's directory");
  });

  it("runs the recipe's entrypoint and cmd, with its env and workdir", () => {
    assert.equal(run(), "hello from /opt/dir\n");
  });

  it("has a file from each layer, not the one deleted, only the replaced directory's file", () => {
    assert.equal(run("cat /etc/strata-a /etc/strata-b"), "from files\nfrom top\n");
    assert.equal(run("test ! -e /etc/strata-gone && ls -A /opt/dir"), "new\n");
    assert.match(run("cat /etc/debian_version"), /^\d+|trixie/);
  });

  it("has one image layer per strata layer, and the labels", () => {
    const r = podman("image", "inspect", image);
    assert.equal(r.code, 0, r.stderr);
    const [inspect] = JSON.parse(r.stdout) as {
      RootFS: { Layers: string[] };
      Labels: Record<string, string>;
      History: { created_by: string }[];
    }[];
    assert.equal(inspect?.RootFS.Layers.length, 3);
    assert.deepEqual(inspect?.Labels, { "org.example.answer": "42" });
    assert.deepEqual(
      inspect?.History.map((h) => h.created_by),
      ["strata layer base", "strata layer files", "strata layer top"],
    );
  });

  it("is a layout skopeo reads, annotated with each strata layer", () => {
    const r = skopeo("inspect", `oci-archive:${join(out, "img.oci.tar")}`);
    assert.equal(r.code, 0, r.stderr);
    const inspect = JSON.parse(r.stdout) as { Layers: string[]; Architecture: string };
    assert.equal(inspect.Layers.length, 3);
    assert.equal(inspect.Architecture, "amd64");
    const dir = join(out, "again.oci");
    assert.equal(skopeo("inspect", `oci:${dir}`).code, 0);
    const { index, manifest } = readLayout(dir);
    assert.equal(index.manifests[0]?.annotations?.[ANNOTATIONS.refName], "again:latest");
    assert.deepEqual(
      manifest.layers.map((l) => [l.mediaType, l.annotations?.[ANNOTATIONS.layerName]]),
      [
        [MEDIA_TYPES.layerZstd, "base"],
        [MEDIA_TYPES.layerZstd, "files"],
        [MEDIA_TYPES.layerZstd, "top"],
      ],
    );
  });

  it("writes the same uncompressed layers every time: equal diff_ids", () => {
    // The archive's layers (as podman stored them) and the directory's, tarred apart.
    const r = podman("image", "inspect", "--format", "{{json .RootFS.Layers}}", image);
    assert.equal(r.code, 0, r.stderr);
    const { config } = readLayout(join(out, "again.oci"));
    assert.deepEqual(config.rootfs.diff_ids, JSON.parse(r.stdout));
  });

  it("starts another stack from the archive: the same tree (bootstrap: { oci })", () => {
    const from = writeRecipe(
      "name: fromimage\ndistro: { suite: trixie, arch: amd64 }\nlayers:\n  - name: image\n    bootstrap: { oci: img.oci.tar }\noutputs:\n  - { type: dir, name: tree }\n",
    );
    copyFileSync(join(out, "img.oci.tar"), join(dirname(from), "img.oci.tar"));
    try {
      const again = join(work, "out-from-image");
      buildWithCli(from, again);
      const original = treeListing(join(out, "tree"));
      assert.ok(original.length > 1000, `a Debian root: ${original.length} entries`);
      assert.deepEqual(treeListing(join(again, "tree")), original);
    } finally {
      rmSync(dirname(from), { recursive: true, force: true });
    }
  });
});
