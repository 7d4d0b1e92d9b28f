import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { embedGrub, grubConfig, grubRoom } from "../../../src/outputs/disk/grub.js";

describe("GRUB embedding", () => {
  const bootImg = Buffer.alloc(512, 0xaa);
  const core = Buffer.alloc(3 * 512, 0x11);

  it("copies the boot code, keeps the partition table, and points at the core image", () => {
    const mbr = Buffer.alloc(512, 0);
    mbr.fill(0x77, 440); // disk signature, partition table and 55aa
    const out = embedGrub(mbr, bootImg, core, 2048, 1024 * 1024);
    assert.equal(mbr[0], 0xaa);
    assert.equal(mbr[439], 0xaa);
    assert.equal(mbr[440], 0x77);
    assert.equal(mbr[511], 0x77);
    assert.equal(mbr.readBigUInt64LE(0x5c), 2048n);
    // The core image reads its remaining sectors from the one after its first.
    assert.equal(out.readBigUInt64LE(500), 2049n);
    assert.equal(out.length, core.length);
    assert.equal(core.readBigUInt64LE(500), 0x1111111111111111n, "the input is not modified");
  });

  it("refuses a core image that does not fit, and a boot.img of the wrong size", () => {
    assert.throws(() => embedGrub(Buffer.alloc(512), bootImg, core, 1, 1024), /does not fit/);
    assert.throws(() => embedGrub(Buffer.alloc(512), Buffer.alloc(100), core, 1, 1 << 20), /512/);
  });

  it("gives the room before the first partition, or the BIOS boot partition's size", () => {
    assert.equal(grubRoom(1, 2048), 2047 * 512);
    assert.equal(grubRoom(2048, 4096, 2048), 1024 * 1024);
  });

  it("writes a menu on the serial port and the screen", () => {
    const cfg = grubConfig([
      { title: "it's v1", linux: "/boot/1/vmlinuz", initrd: "/boot/1/initrd.img", options: "a=b" },
    ]);
    assert.match(cfg, /terminal_output serial console/);
    assert.match(
      cfg,
      /menuentry 'its v1' \{\n {2}linux \/boot\/1\/vmlinuz a=b\n {2}initrd \/boot\/1\/initrd.img\n\}/,
    );
  });
});
