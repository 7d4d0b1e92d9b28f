/** Booting an ISO image: reading its `.iso.json` sidecar into what QEMU boots it with. */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { isAbsolute, join, relative } from "node:path";
import { describe, it } from "node:test";
import { StrataError } from "../../src/errors.js";
import { ISO_SIDECAR_FORMAT } from "../../src/outputs/iso/sidecar.js";
import { isIsoPath, readIsoImage } from "../../src/vm/iso.js";
import { tempDir } from "../helpers.js";

/** An ISO (a placeholder file) and its sidecar, with `sidecar` over the defaults. */
function isoFile(sidecar: Record<string, unknown> = {}, name = "kiosk.iso"): string {
  const dir = tempDir("strata-iso-");
  const iso = join(dir, name);
  writeFileSync(iso, "not really an ISO");
  const description = {
    format: ISO_SIDECAR_FORMAT,
    arch: "amd64",
    recipe: "kiosk",
    firmware: ["uefi", "bios"],
    label: "STRATA_ISO",
    cmdline: "boot=strata strata.version=1 strata.root=immutable console=ttyS0,115200",
    console: "ttyS0",
    installer: true,
    disk: { boot: "uefi", bytes: 123456789 },
    bytes: 234567890,
    ...sidecar,
  };
  writeFileSync(`${iso}.json`, `${JSON.stringify(description, null, 2)}\n`);
  return iso;
}

const usage = (pattern: RegExp) => (e: unknown) =>
  e instanceof StrataError &&
  e.code === "E_USAGE" &&
  pattern.test(e.message) &&
  e.hint !== undefined;

describe("isIsoPath", () => {
  it("is a path ending in .iso, in any case", () => {
    assert.ok(isIsoPath("out/kiosk.iso"));
    assert.ok(isIsoPath("/abs/KIOSK.ISO"));
    assert.ok(isIsoPath("a.b.iso"));
    assert.ok(!isIsoPath("out/kiosk.img"));
    assert.ok(!isIsoPath("out/kiosk.iso.json"));
    assert.ok(!isIsoPath("out/kiosk-iso"));
    assert.ok(!isIsoPath("out/iso/"));
    assert.ok(!isIsoPath("out/kiosk.iso/"));
  });
});

describe("readIsoImage", () => {
  it("boots with the first firmware listed by default, on the sidecar's arch", () => {
    const iso = isoFile();
    const image = readIsoImage(iso);
    assert.equal(image.path, iso);
    assert.equal(image.arch, "amd64");
    assert.equal(image.boot, "uefi");
    assert.equal(image.sidecar.recipe, "kiosk");
    assert.equal(image.sidecar.installer, true);
    assert.deepEqual(image.sidecar.disk, { boot: "uefi", bytes: 123456789 });
    assert.equal(readIsoImage(isoFile({ firmware: ["bios", "uefi"] })).boot, "bios");
    const arm = readIsoImage(isoFile({ arch: "arm64", firmware: ["uefi"] }));
    assert.equal(arm.arch, "arm64");
    assert.equal(arm.boot, "uefi");
  });

  it("takes --boot when the ISO boots with it", () => {
    const iso = isoFile();
    assert.equal(readIsoImage(iso, { boot: "bios" }).boot, "bios");
    assert.equal(readIsoImage(iso, { boot: "uefi" }).boot, "uefi");
    assert.equal(readIsoImage(iso, {}).boot, "uefi");
  });

  it("gives an absolute path for a relative one", () => {
    const iso = isoFile();
    const image = readIsoImage(relative(process.cwd(), iso));
    assert.equal(image.path, iso);
    assert.ok(isAbsolute(image.path));
  });

  it("refuses a firmware the ISO does not boot with, naming those it does", () => {
    const iso = isoFile({ firmware: ["uefi"] });
    assert.throws(() => readIsoImage(iso, { boot: "bios" }), usage(/does not boot with bios/));
    try {
      readIsoImage(iso, { boot: "bios" });
    } catch (e) {
      assert.ok(e instanceof StrataError);
      assert.equal(e.hint, "it boots with: uefi");
    }
    assert.throws(() => readIsoImage(iso, { boot: "coreboot" }), usage(/coreboot/));
  });

  it("refuses an ISO without a sidecar", () => {
    const dir = tempDir("strata-iso-");
    const iso = join(dir, "bare.iso");
    writeFileSync(iso, "x");
    assert.throws(() => readIsoImage(iso), usage(/bare\.iso\.json is missing/));
    assert.throws(() => readIsoImage(join(dir, "absent.iso")), usage(/absent\.iso\.json/));
  });

  it("refuses a sidecar that is not JSON or not a strata ISO description", () => {
    const notJson = isoFile();
    writeFileSync(`${notJson}.json`, "{ not json");
    assert.throws(() => readIsoImage(notJson), usage(/not a strata ISO description/));
    for (const bad of [
      { format: "strata-live/1" },
      { format: "strata-iso/2" },
      { arch: "armhf" },
      { firmware: ["coreboot"] },
      { disk: { boot: "uefi" } },
      { bytes: "big" },
    ]) {
      assert.throws(
        () => readIsoImage(isoFile(bad)),
        usage(/strata ISO description/),
        JSON.stringify(bad),
      );
    }
    const missing = isoFile();
    writeFileSync(`${missing}.json`, JSON.stringify({ format: ISO_SIDECAR_FORMAT }));
    assert.throws(() => readIsoImage(missing), usage(/strata ISO description/));
  });
});
