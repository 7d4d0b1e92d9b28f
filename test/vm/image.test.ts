/** The disk image's sidecar (strata-disk/1) and the --arch/--boot overrides. */
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, it } from "node:test";
import type { StrataError } from "../../src/errors.js";
import { readDiskImage } from "../../src/vm/image.js";
import { tempDir } from "../helpers.js";
import { fakeImage } from "./fake.js";

const dir = tempDir("strata-image-test-");
after(() => rmSync(dir, { recursive: true, force: true }));

const usage = (message: RegExp, hint: RegExp) => (e: StrataError) =>
  e.code === "E_USAGE" && message.test(e.message) && hint.test(e.hint ?? "");

it("reads architecture, firmware and table from the sidecar", () => {
  const image = fakeImage(dir, { arch: "arm64", boot: "uefi", table: "gpt", console: "ttyAMA0" });
  const info = readDiskImage(image);
  assert.equal(info.path, image);
  assert.equal(info.arch, "arm64");
  assert.equal(info.boot, "uefi");
  assert.equal(info.table, "gpt");
  assert.equal(info.console, "ttyAMA0");
  assert.equal(info.sidecar, `${image}.json`);
});

it("lets --arch and --boot override the sidecar", () => {
  const image = fakeImage(dir, { arch: "amd64", boot: "uefi" });
  const info = readDiskImage(image, { boot: "bios" });
  assert.equal(info.arch, "amd64");
  assert.equal(info.boot, "bios");
});

it("needs --arch and --boot for an image without a sidecar", () => {
  const image = fakeImage(dir, false);
  rmSync(`${image}.json`, { force: true });
  assert.throws(() => readDiskImage(image), usage(/fake\.img\.json is missing/, /--arch.*--boot/));
  assert.throws(() => readDiskImage(image, { arch: "amd64" }), /is missing/);
  assert.deepEqual(readDiskImage(image, { arch: "amd64", boot: "bios" }), {
    path: image,
    arch: "amd64",
    boot: "bios",
  });
});

it("rejects a sidecar of another format, and bad overrides", () => {
  const image = join(dir, "other.img");
  writeFileSync(image, "");
  writeFileSync(`${image}.json`, JSON.stringify({ format: "strata-disk/9", arch: "amd64" }));
  assert.throws(() => readDiskImage(image), usage(/not a strata-disk\/1 description/, /rebuild/));
  writeFileSync(`${image}.json`, "{ not json");
  assert.throws(() => readDiskImage(image), /not a strata-disk\/1 description/);
  assert.throws(() => readDiskImage(image, { arch: "armhf" }), usage(/--arch armhf/, /amd64/));
  assert.throws(() => readDiskImage(image, { boot: "coreboot" }), usage(/--boot coreboot/, /uefi/));
});
