/** The disk's assembly plan, a pure function: layout, boot files' places, texts, size checks. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { planDisk } from "../../../src/outputs/disk/plan.js";
import { DiskOutput } from "../../../src/recipe/schema.js";

const MIB = 1024 * 1024;
const disk = (o: Record<string, unknown> = {}) => DiskOutput.parse({ type: "disk", ...o });
const input = (o: Record<string, unknown> = {}) => ({
  disk: disk(o),
  arch: "amd64",
  recipe: "kiosk",
  name: "kiosk",
  kernelVersion: "6.12.1-amd64",
  bootBytes: 40 * MIB,
  contentBytes: 300 * MIB,
  bootDigests: { vmlinuz: "a".repeat(64), initrd: "b".repeat(64) },
});

describe("disk plan", () => {
  it("UEFI: systemd-boot, the kernel and initramfs on the ESP, one loader entry", () => {
    const p = planDisk(input());
    assert.deepEqual(
      p.esp?.files.map((f) => [f.source, f.to]),
      [
        ["efi", "/EFI/BOOT/BOOTX64.EFI"],
        ["efi", "/EFI/systemd/systemd-bootx64.efi"],
        ["vmlinuz", `/strata/${"a".repeat(64)}`],
        ["initrd", `/strata/${"b".repeat(64)}`],
      ],
    );
    const entry = p.esp?.texts["/loader/entries/strata-1.conf"] ?? "";
    assert.match(entry, /^options boot=strata strata\.version=1 strata\.root=immutable /m);
    assert.match(p.esp?.texts["/loader/loader.conf"] ?? "", /^default strata-1\.conf$/m);
    assert.match(entry, /^sort-key strata$/m);
    assert.match(entry, /^version 1$/m);
    assert.doesNotMatch(entry, /panic=/);
    assert.deepEqual(p.dataFiles, [], "a layered UEFI disk keeps no boot file on the store");
    assert.equal(p.grubConfig, undefined);
    assert.equal(p.dataLabel, "strata-store");
    assert.equal(p.sidecar.bytes, p.layout.bytes);
    assert.deepEqual(
      p.layout.partitions.map((x) => x.role),
      ["esp", "data"],
    );
  });

  it("with updates: the newest good entry boots, and a panic reboots (a trial counts down)", () => {
    const p = planDisk({ ...input(), updates: true });
    assert.match(p.esp?.texts["/loader/loader.conf"] ?? "", /^default strata-\*$/m);
    const entry = p.esp?.texts["/loader/entries/strata-1.conf"] ?? "";
    assert.match(
      entry,
      /^options boot=strata strata\.version=1 strata\.root=immutable strata\.store=\S+ panic=10 /m,
    );
    assert.equal(p.sidecar.cmdline, p.cmdline);
  });

  it("BIOS + flat: GRUB reads the kernel and initramfs from the root's /boot", () => {
    const p = planDisk(input({ boot: "bios", table: "mbr", root: "flat" }));
    assert.equal(p.esp, undefined);
    assert.deepEqual(
      p.dataFiles.map((f) => [f.source, f.to]),
      [
        ["vmlinuz", "/boot/vmlinuz-6.12.1-amd64"],
        ["initrd", "/boot/initrd.img-6.12.1-amd64"],
      ],
    );
    assert.match(
      p.grubConfig ?? "",
      /linux \/boot\/vmlinuz-6\.12\.1-amd64 root=LABEL=strata-root rw/,
    );
    assert.equal(p.dataLabel, "strata-root");
    assert.equal(p.layout.grubCoreSector, 1);
  });

  it("BIOS + layered: the kernel and initramfs go to the store's boot/1/", () => {
    const p = planDisk(input({ boot: "bios", root: "persistent" }));
    assert.deepEqual(
      p.dataFiles.map((f) => f.to),
      ["/boot/1/vmlinuz", "/boot/1/initrd.img"],
    );
    assert.match(p.grubConfig ?? "", /strata\.root=persistent/);
  });

  it("BIOS + layered with updates: boot files by digest, the agent's entry, an empty grubenv", () => {
    const p = planDisk({ ...input({ boot: "bios", table: "mbr" }), updates: true });
    assert.deepEqual(
      p.dataFiles.map((f) => f.to),
      [`/boot/${"a".repeat(64)}`, `/boot/${"b".repeat(64)}`],
    );
    assert.match(p.grubConfig ?? "", /^set default=strata-1$/m);
    assert.match(p.grubConfig ?? "", /^menuentry '[^']*' --id strata-1 \{$/m);
    assert.match(p.grubConfig ?? "", / panic=10 /);
    const entry = p.dataTexts["/update/entries/strata-1.conf"] ?? "";
    assert.match(entry, new RegExp(`^linux /boot/${"a".repeat(64)}$`, "m"));
    assert.match(entry, /^options boot=strata strata\.version=1 /m);
    const env = p.dataTexts["/boot/grub/grubenv"] ?? "";
    assert.equal(env.length, 1024);
    assert.match(env, /^# GRUB Environment Block\n#+$/);
    assert.deepEqual(planDisk(input({ boot: "bios", table: "mbr" })).dataTexts, {});
  });

  it("refuses a size or an ESP too small, with the size needed", () => {
    assert.throws(
      () => planDisk(input({ size: "200M" })),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, "E_DISK_SIZE");
        assert.match(
          e.message,
          /size 200 MiB is too small; it needs at least \d+ MiB \(layers 300 MiB/,
        );
        return true;
      },
    );
    assert.throws(() => planDisk(input({ esp_size: "32M" })), /esp_size 32 MiB is too small/);
    // The default size is what the parts need plus room, never too small.
    const p = planDisk(input());
    assert.ok(p.layout.bytes >= 300 * MIB + 256 * MIB);
  });
});
