/**
 * `bootstrap: { oci }`: a stack that starts from an OCI image (an archive written here by
 * test/oci-image.ts, with busybox as its shell), its layers applied in order with whiteouts
 * honoured, steps run on it, cached by the image's digest; and a layer that tries to write
 * through a symlink to the build host does not reach it.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { BuildResult } from "../../src/build/build.js";
import { cli, cliAsync, mountsUnder, needsRoot, tempDir } from "../helpers.js";
import { freePort, REGISTRY_SKIP, startRegistry } from "../registry.js";
import { writeOciImage } from "../oci-image.js";

const RECIPE = `name: fromoci
distro: { suite: trixie, arch: amd64 }
layers:
  - name: image
    bootstrap: { oci: image.tar }
    steps:
      - run: "echo built-on-image > /etc/on-top"
  - name: app
    steps:
      - run: "echo app > /etc/app"
outputs:
  - { type: dir, name: tree }
`;

const LOWER = {
  "etc/kept": "kept\n",
  "etc/gone": "gone\n",
  "opt/dir/old": "old\n",
  "usr/lib/os-release": "ID=test\n",
  "etc/os-release": { link: "../usr/lib/os-release" },
};
const UPPER = {
  "etc/.wh.gone": "",
  "opt/dir/.wh..wh..opq": "",
  "opt/dir/new": "new\n",
  "etc/upper": "upper\n",
};

describe("a stack that starts from an OCI image", { skip: needsRoot }, () => {
  const work = tempDir("strata-oci-bootstrap-");
  const dir = join(work, "recipe");
  mkdirSync(dir);
  writeFileSync(join(dir, "strata.yaml"), RECIPE);
  const cache = join(work, "cache");
  after(() => rmSync(work, { recursive: true, force: true }));

  const image = (layers: Parameters<typeof writeOciImage>[1]) => {
    const made = join(work, `image-${Math.random().toString(36).slice(2)}`);
    const { archive } = writeOciImage(made, layers);
    writeFileSync(join(dir, "image.tar"), readFileSync(archive));
  };
  const build = (out: string) => {
    const r = cli([
      "build",
      join(dir, "strata.yaml"),
      "--json",
      "--cache-dir",
      cache,
      "--out",
      out,
    ]);
    return { ...r, result: r.code === 0 ? (JSON.parse(r.stdout) as BuildResult) : undefined };
  };
  const built = (r: BuildResult) => r.layers.filter((l) => !l.cached).map((l) => l.name);

  it("unpacks the image's layers in order, with whiteouts and opaque directories", () => {
    image([LOWER, UPPER]);
    const out = join(work, "out1");
    const r = build(out);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const tree = join(out, "tree");
    assert.equal(readFileSync(join(tree, "etc/kept"), "utf8"), "kept\n");
    assert.equal(readFileSync(join(tree, "etc/upper"), "utf8"), "upper\n");
    assert.equal(existsSync(join(tree, "etc/gone")), false, "a whiteout deletes the lower file");
    assert.deepEqual(readdirSync(join(tree, "opt/dir")), ["new"], "an opaque dir hides the lower");
    assert.equal(readlinkSync(join(tree, "etc/os-release")), "../usr/lib/os-release");
    assert.equal(
      readdirSync(tree, { recursive: true }).some((f) => String(f).includes(".wh.")),
      false,
      "no whiteout file is left in the tree",
    );
    // The layer's own step ran on the image, and the next layer sits on it.
    assert.equal(readFileSync(join(tree, "etc/on-top"), "utf8"), "built-on-image\n");
    assert.equal(readFileSync(join(tree, "etc/app"), "utf8"), "app\n");
    assert.equal(lstatSync(join(tree, "etc/kept")).uid, 0);
    assert.deepEqual(built(r.result as BuildResult), ["image", "app"]);
  });

  it("is cached by the image's digest: the same image again builds nothing, a new one rebuilds", () => {
    const again = build(join(work, "out2"));
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(built(again.result as BuildResult), []);
    image([LOWER, { ...UPPER, "etc/upper": "changed\n" }]);
    const changed = build(join(work, "out3"));
    assert.equal(changed.code, 0, changed.stderr);
    assert.deepEqual(built(changed.result as BuildResult), ["image", "app"]);
    assert.equal(readFileSync(join(work, "out3/tree/etc/upper"), "utf8"), "changed\n");
  });

  it("never writes through a lower layer's symlink onto the build host", () => {
    const target = tempDir("strata-oci-escape-");
    // The upper layer names escape/planted without an entry for escape/ itself, so tar
    // meets the lower layer's symlink on its way.
    const made = join(work, "escape");
    const { archive } = writeOciImage(
      made,
      [{ ...LOWER, escape: { link: target } }, { "escape/planted": "x\n" }],
      { noDirEntries: [1] },
    );
    writeFileSync(join(dir, "image.tar"), readFileSync(archive));
    const r = build(join(work, "out4"));
    assert.deepEqual(readdirSync(target), [], "the host's directory is untouched");
    assert.notEqual(r.code, 0, "the layer cannot be extracted");
    assert.match(r.stdout, /E_OCI_IMAGE.*escape\/planted/s);
    rmSync(target, { recursive: true, force: true });
  });

  it("refuses an image for another architecture, and a path outside the recipe", () => {
    const made = join(work, "arm");
    writeFileSync(
      join(dir, "image.tar"),
      readFileSync(writeOciImage(made, [LOWER], { arch: "arm64" }).archive),
    );
    const arch = build(join(work, "out5"));
    assert.notEqual(arch.code, 0);
    assert.match(arch.stdout, /E_OCI_IMAGE.*linux\/arm64.*linux\/amd64/s);
    writeFileSync(join(work, "image.tar"), readFileSync(join(dir, "image.tar")));
    writeFileSync(join(dir, "strata.yaml"), RECIPE.replace("oci: image.tar", "oci: ../image.tar"));
    const outside = cli([
      "build",
      join(dir, "strata.yaml"),
      "--cache-dir",
      cache,
      "--out",
      join(work, "o6"),
    ]);
    assert.notEqual(outside.code, 0);
    assert.match(outside.stderr, /bootstrap\.oci/);
    assert.match(outside.stderr, /outside the recipe's directory/);
    writeFileSync(join(dir, "strata.yaml"), RECIPE);
  });

  it(
    "pulls an image from a registry, pinned to the digest its key covers",
    { skip: REGISTRY_SKIP },
    async () => {
      mkdirSync(join(work, "registry"));
      const port = await freePort();
      const registry = await startRegistry(join(work, "registry"), port);
      const ref = `127.0.0.1:${port}/team/base:v1`;
      // Pushes an image of these layers to `ref`, then builds the recipe from it.
      const pushAndBuild = async (upper: typeof UPPER, out: string) => {
        const { layout } = writeOciImage(join(work, `pushed-${out}`), [LOWER, upper]);
        const push = ["copy", "--quiet", "--dest-tls-verify=false", `oci:${layout}:test`];
        execFileSync("skopeo", [...push, `docker://${ref}`]);
        const args = ["--json", "--insecure", "--cache-dir", cache, "--out", join(work, out)];
        const r = await cliAsync(["build", join(dir, "strata.yaml"), ...args]);
        assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
        return JSON.parse(r.stdout) as BuildResult;
      };
      try {
        writeFileSync(
          join(dir, "strata.yaml"),
          RECIPE.replace("oci: image.tar", `oci: "docker://${ref}"`),
        );
        await pushAndBuild(UPPER, "out-registry");
        assert.equal(readFileSync(join(work, "out-registry/tree/etc/upper"), "utf8"), "upper\n");
        assert.equal(existsSync(join(work, "out-registry/tree/etc/gone")), false);
        // The tag moves to another image: a new key, so the layer is built again from it.
        const moved = await pushAndBuild({ ...UPPER, "etc/upper": "moved\n" }, "out-moved");
        assert.deepEqual(built(moved), ["image", "app"]);
        assert.equal(readFileSync(join(work, "out-moved/tree/etc/upper"), "utf8"), "moved\n");
      } finally {
        registry.kill();
        writeFileSync(join(dir, "strata.yaml"), RECIPE);
      }
    },
  );

  it("leaves no mounts behind", () => {
    assert.deepEqual(mountsUnder(work), []);
  });
});
