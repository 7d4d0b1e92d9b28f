import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { StrataError } from "../../src/errors.js";
import {
  imageDigest,
  ociSourceProblem,
  parseOciSource,
  pickIndexEntry,
  readFlags,
  skopeoName,
} from "../../src/oci/source.js";
import { tempDir } from "../helpers.js";

const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;
const index = (...entries: object[]) => JSON.stringify({ schemaVersion: 2, manifests: entries });

describe("OCI image sources", () => {
  const dir = tempDir("strata-oci-src-");
  mkdirSync(join(dir, "layout"));
  writeFileSync(join(dir, "layout", "index.json"), index({ digest: D1 }));
  writeFileSync(join(dir, "image.tar"), "");

  it("tells a registry reference, an archive and a layout apart", () => {
    assert.deepEqual(parseOciSource("docker://reg.example/a/b:1", dir), {
      kind: "registry",
      ref: "reg.example/a/b:1",
    });
    const archive = parseOciSource("image.tar", dir);
    assert.deepEqual(archive, { kind: "archive", path: join(dir, "image.tar") });
    assert.equal(skopeoName(archive), `oci-archive:${join(dir, "image.tar")}`);
    assert.equal(skopeoName(parseOciSource("layout", dir)), `oci:${join(dir, "layout")}`);
  });

  it("checks paths and references before anything is built", () => {
    assert.equal(ociSourceProblem("image.tar", dir), undefined);
    assert.equal(ociSourceProblem(`docker://reg.example:5000/a/b@${D1}`, dir), undefined);
    assert.match(ociSourceProblem("missing.tar", dir)?.message ?? "", /does not exist/);
    assert.match(ociSourceProblem("/etc/passwd", dir)?.message ?? "", /absolute/);
    assert.match(ociSourceProblem("docker://x y", dir)?.message ?? "", /not a registry image/);
    assert.match(ociSourceProblem("missing.tar", dir)?.hint ?? "", /docker:\/\//);
  });

  it("picks the index entry for the architecture, and refuses none or several", () => {
    const two = index(
      { digest: D1, platform: { architecture: "amd64", os: "linux" } },
      { digest: D2, platform: { architecture: "arm64", os: "linux" } },
    );
    assert.equal(pickIndexEntry(two, "arm64", "x").digest, D2);
    assert.equal(pickIndexEntry(index({ digest: D1 }), "amd64", "x").digest, D1);
    assert.throws(() => pickIndexEntry(two, "arm", "x"), /no image for arm/);
    assert.throws(
      () => pickIndexEntry(index({ digest: D1 }, { digest: D2 }), "amd64", "x"),
      (e: unknown) =>
        e instanceof StrataError && e.code === "E_OCI_IMAGE" && /2 images/.test(e.message),
    );
    assert.throws(() => pickIndexEntry("{", "amd64", "x"), /not JSON/);
  });

  it("gives a layout's digest from its index, and a pinned reference's without asking", async () => {
    assert.equal(await imageDigest(parseOciSource("layout", dir), "amd64"), D1);
    assert.equal(await imageDigest(parseOciSource(`docker://r.example/a@${D2}`, dir), "amd64"), D2);
  });

  it("passes credentials, and plain http only to a loopback registry", () => {
    const access = { authFile: "/a.json", certDir: "/ca", insecure: true };
    assert.deepEqual(readFlags(parseOciSource("docker://127.0.0.1:5000/a/b", dir), access, "src"), [
      "--src-authfile",
      "/a.json",
      "--src-cert-dir",
      "/ca",
      "--src-tls-verify=false",
    ]);
    assert.deepEqual(readFlags(parseOciSource("docker://reg.example/a/b", dir), access), [
      "--authfile",
      "/a.json",
      "--cert-dir",
      "/ca",
    ]);
    assert.deepEqual(readFlags(parseOciSource("image.tar", dir), access), []);
  });
});
