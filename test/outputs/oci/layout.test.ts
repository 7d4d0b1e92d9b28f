// The oci output's JSON documents: config, manifest, index, built from options and blobs.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sha256 } from "../../../src/cache/canonical.js";
import {
  DEFAULT_PATH,
  containerConfig,
  imageDocuments,
  refName,
  rfc3339,
  type LayerBlob,
} from "../../../src/outputs/oci/layout.js";
import { OciOutput } from "../../../src/outputs/oci/schema.js";
import { ociPlatform } from "../../../src/oci/image-layout.js";

const output = (o: Record<string, unknown> = {}) => OciOutput.parse({ type: "oci", ...o });
const hex = (c: string) => c.repeat(64);
const layers: LayerBlob[] = [
  {
    name: "base",
    key: hex("a"),
    digest: `sha256:${hex("1")}`,
    size: 100,
    diffId: `sha256:${hex("2")}`,
  },
  {
    name: "app",
    key: hex("b"),
    digest: `sha256:${hex("3")}`,
    size: 10,
    diffId: `sha256:${hex("4")}`,
  },
];

describe("oci layout documents", () => {
  it("defaults: a gzip tar, Debian's PATH, the output's name as reference", () => {
    const o = output();
    assert.equal(o.format, "tar");
    assert.equal(o.compression, "gzip");
    assert.equal(refName(o, "Kiosk"), "kiosk:latest");
    assert.equal(
      refName(output({ tag: "registry.example:5000/team/kiosk:1.0" }), "x"),
      "registry.example:5000/team/kiosk:1.0",
    );
    assert.deepEqual(containerConfig(o), { Env: [`PATH=${DEFAULT_PATH}`] });
  });

  it("maps the Dockerfile-like options to the container config", () => {
    const o = output({
      entrypoint: ["/bin/sh", "-c"],
      cmd: ["echo hi"],
      env: { PATH: "/bin", LANG: "C.UTF-8" },
      workdir: "/srv",
      user: "1000:1000",
      labels: { a: "b" },
      exposed_ports: [80, "53/udp"],
    });
    assert.deepEqual(containerConfig(o), {
      User: "1000:1000",
      ExposedPorts: { "80/tcp": {}, "53/udp": {} },
      Env: ["PATH=/bin", "LANG=C.UTF-8"],
      Entrypoint: ["/bin/sh", "-c"],
      Cmd: ["echo hi"],
      WorkingDir: "/srv",
      Labels: { a: "b" },
    });
  });

  it("refuses what a runtime could not use", () => {
    for (const bad of [
      { env: { "A=B": "x" } },
      { workdir: "srv" },
      { cmd: [] },
      { tag: "Upper:case" },
      { exposed_ports: ["80/icmp"] },
      { compression: "xz" },
    ]) {
      assert.equal(
        OciOutput.safeParse({ type: "oci", ...bad }).success,
        false,
        JSON.stringify(bad),
      );
    }
  });

  it("writes config, manifest and index that point at each other", () => {
    const docs = imageDocuments(
      output({ compression: "zstd" }),
      "img",
      "arm64",
      1735689600,
      layers,
    );
    const config = JSON.parse(docs.config.bytes.toString("utf8"));
    assert.equal(docs.config.descriptor.digest, `sha256:${sha256(docs.config.bytes)}`);
    assert.equal(docs.config.descriptor.size, docs.config.bytes.length);
    assert.equal(config.created, "2025-01-01T00:00:00Z");
    assert.equal(config.architecture, "arm64");
    assert.equal(config.os, "linux");
    assert.deepEqual(config.rootfs, {
      type: "layers",
      diff_ids: [`sha256:${hex("2")}`, `sha256:${hex("4")}`],
    });
    assert.deepEqual(
      config.history.map((h: { created_by: string }) => h.created_by),
      ["strata layer base", "strata layer app"],
    );

    const manifest = JSON.parse(docs.manifest.bytes.toString("utf8"));
    assert.equal(manifest.schemaVersion, 2);
    assert.equal(manifest.mediaType, "application/vnd.oci.image.manifest.v1+json");
    assert.deepEqual(manifest.config, docs.config.descriptor);
    assert.deepEqual(manifest.layers[1], {
      mediaType: "application/vnd.oci.image.layer.v1.tar+zstd",
      digest: `sha256:${hex("3")}`,
      size: 10,
      annotations: { "org.strata.layer.name": "app", "org.strata.layer.key": hex("b") },
    });

    assert.deepEqual(docs.index.manifests, [
      {
        ...docs.manifest.descriptor,
        platform: { architecture: "arm64", os: "linux" },
        annotations: { "org.opencontainers.image.ref.name": "img:latest" },
      },
    ]);
  });

  it("gives equal bytes for equal inputs, other bytes for other options", () => {
    const a = imageDocuments(output({ labels: { x: "1", y: "2" } }), "i", "amd64", 0, layers);
    const b = imageDocuments(output({ labels: { y: "2", x: "1" } }), "i", "amd64", 0, layers);
    const c = imageDocuments(output({ labels: { x: "1" } }), "i", "amd64", 0, layers);
    assert.equal(a.manifest.descriptor.digest, b.manifest.descriptor.digest);
    assert.notEqual(a.manifest.descriptor.digest, c.manifest.descriptor.digest);
  });

  it("names Debian's architectures as OCI does, and the epoch as RFC 3339", () => {
    assert.deepEqual(ociPlatform("armhf"), { architecture: "arm", os: "linux", variant: "v7" });
    assert.deepEqual(ociPlatform("amd64"), { architecture: "amd64", os: "linux" });
    assert.equal(rfc3339(0), "1970-01-01T00:00:00Z");
  });
});
