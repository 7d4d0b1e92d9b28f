import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { layout, MIB, partition, SECTOR, sfdiskScript } from "../../../src/outputs/disk/layout.js";

describe("disk layout", () => {
  it("gpt + uefi: an ESP, then the data partition up to the GPT backup", () => {
    const l = layout({ table: "gpt", boot: "uefi" }, 1024 * MIB, 256 * MIB);
    assert.equal(l.bytes, 1024 * MIB);
    const [esp, data] = l.partitions;
    assert.equal(esp?.role, "esp");
    assert.equal(esp?.start, MIB / SECTOR);
    assert.equal(esp?.sectors, (256 * MIB) / SECTOR);
    assert.equal(data?.role, "data");
    assert.equal(data?.start, (257 * MIB) / SECTOR);
    // The last MiB stays free for GPT's backup table.
    assert.equal(((data?.start ?? 0) + (data?.sectors ?? 0)) * SECTOR, 1023 * MIB);
    assert.equal(l.grubCoreSector, undefined);
  });

  it("mbr + bios: one bootable partition, GRUB's core image after the MBR", () => {
    const l = layout({ table: "mbr", boot: "bios" }, 500 * MIB, 0);
    assert.equal(l.partitions.length, 1);
    const data = partition(l, "data");
    assert.equal(data.number, 1);
    assert.equal(data.bootable, true);
    assert.equal(data.type, "83");
    assert.equal((data.start + data.sectors) * SECTOR, 500 * MIB);
    assert.equal(l.grubCoreSector, 1);
  });

  it("gpt + bios: a 1 MiB BIOS boot partition holds GRUB's core image", () => {
    const l = layout({ table: "gpt", boot: "bios" }, 100 * MIB, 0);
    const bios = partition(l, "bios-boot");
    assert.equal(bios.type, "21686148-6449-6E6F-744E-656564454649");
    assert.equal(l.grubCoreSector, bios.start);
    assert.equal(partition(l, "data").number, 2);
  });

  it("rounds the size up to a MiB and refuses a disk with no room for data", () => {
    assert.equal(layout({ table: "mbr", boot: "bios" }, 10 * MIB + 1, 0).bytes, 11 * MIB);
    assert.throws(() => layout({ table: "gpt", boot: "uefi" }, 10 * MIB, 9 * MIB), /no room/);
  });

  it("writes an sfdisk script with names on GPT and the boot flag on MBR", () => {
    const gpt = sfdiskScript(layout({ table: "gpt", boot: "uefi" }, 64 * MIB, 16 * MIB));
    assert.match(gpt, /^label: gpt$/m);
    assert.match(
      gpt,
      /start=2048, size=32768, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp/,
    );
    const mbr = sfdiskScript(layout({ table: "mbr", boot: "bios" }, 64 * MIB, 0));
    assert.match(mbr, /^label: dos$/m);
    assert.match(mbr, /type=83, bootable$/m);
    assert.doesNotMatch(mbr, /name=/);
  });
});
