// The OCI media types and layout paths that writers and readers of image layouts share.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { blobPath } from "../../src/oci/image-layout.js";
import { layerCompression, layerMediaType } from "../../src/oci/media-types.js";

describe("oci media types", () => {
  it("name a layer's compression both ways", () => {
    for (const c of ["none", "gzip", "zstd"] as const) {
      assert.equal(layerCompression(layerMediaType(c)), c);
    }
    assert.equal(layerCompression("application/vnd.docker.image.rootfs.diff.tar.gzip"), "gzip");
    assert.equal(layerCompression("application/vnd.strata.layer.module.v1.squashfs"), undefined);
  });

  it("find a blob by its digest, and only a sha256 one", () => {
    assert.equal(blobPath("/l", `sha256:${"0".repeat(64)}`), `/l/blobs/sha256/${"0".repeat(64)}`);
    for (const bad of ["sha256:../../etc/passwd", `sha512:${"0".repeat(128)}`, "0".repeat(64)]) {
      assert.throws(() => blobPath("/l", bad), { code: "E_OUTPUT" });
    }
  });
});
