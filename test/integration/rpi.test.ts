/**
 * examples/rpi: SD-card images for a Raspberry Pi 3 and 4, built on this amd64 host through
 * qemu-user-static from the same cached layers as examples/arm64-disk. The boot partitions are
 * read with mtools (firmware, device trees, config.txt, cmdline.txt naming the store); the
 * Pi 3's image boots in QEMU's raspi3b machine (the board's own SoC, the image as its SD card,
 * the console on the GPIO header's UART) with the kernel, initramfs and device tree off its
 * boot partition, to a login on the stacked layers, its store grown to the card.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { BuildResult } from "../../src/build/build.js";
import { bootMachine } from "../../src/vm/machine.js";
import { buildWithCli, needsRoot, ROOT, tempDir } from "../helpers.js";
import { ok, whileLoggedIn } from "./machine-helpers.js";

process.env.STRATA_ACCEL ??= "tcg";

/** The files of the image's first partition (the FAT boot partition), by name. */
function bootPartition(image: string): Map<string, string> {
  const env = { ...process.env, MTOOLS_SKIP_CHECK: "1" };
  const ls = (dir: string) =>
    execFileSync("mdir", ["-b", "-i", `${image}@@1M`, `::${dir}`], { env, encoding: "utf8" })
      .trim()
      .split("\n")
      .filter(Boolean);
  const names = [...ls("/"), ...ls("/overlays")].map((p) => p.replace(/^::\//, ""));
  const text = (name: string) =>
    execFileSync("mtype", ["-i", `${image}@@1M`, `::/${name}`], { env, encoding: "utf8" });
  return new Map(names.map((n) => [n, /\.txt$/.test(n) ? text(n) : ""]));
}

describe("Raspberry Pi images", { skip: needsRoot }, () => {
  const out = tempDir("strata-out-");
  let result: BuildResult;
  const image = (name: string) => join(out, `${name}.img`);
  after(() => rmSync(out, { recursive: true, force: true }));

  before(() => {
    result = buildWithCli(join(ROOT, "examples/rpi"), out);
  });

  it("shares examples/arm64-disk's layers and one boot layer for both boards", () => {
    const added = result.layers.filter((l) => l.addedBy).map((l) => [l.name, l.parent]);
    assert.deepEqual(added, [["kernel.boot-rpi-ext4", "kernel"]]);
    const sidecar = JSON.parse(readFileSync(`${image("pi4")}.json`, "utf8"));
    assert.deepEqual(
      [sidecar.arch, sidecar.boot, sidecar.board, sidecar.table, sidecar.console],
      ["arm64", "rpi", "rpi4", "mbr", "ttyS1"],
    );
    const table = JSON.parse(execFileSync("sfdisk", ["-J", image("pi4")], { encoding: "utf8" }));
    assert.equal(table.partitiontable.label, "dos");
    assert.deepEqual(
      table.partitiontable.partitions.map((p: { type: string }) => p.type),
      ["c", "83"],
    );
  });

  it("puts each board's firmware, device trees, config.txt and cmdline.txt on its boot partition", () => {
    const pi3 = bootPartition(image("pi3"));
    const pi4 = bootPartition(image("pi4"));
    for (const f of [
      "bootcode.bin",
      "start.elf",
      "fixup.dat",
      "bcm2837-rpi-3-b.dtb",
      "vmlinuz",
      "initrd.img",
    ])
      assert.ok(pi3.has(f), `${f} on the Pi 3's boot partition: ${[...pi3.keys()].join(" ")}`);
    for (const f of ["start4.elf", "fixup4.dat", "bcm2711-rpi-4-b.dtb", "vmlinuz", "initrd.img"])
      assert.ok(pi4.has(f), `${f} on the Pi 4's boot partition: ${[...pi4.keys()].join(" ")}`);
    assert.equal(pi4.has("bootcode.bin") || pi4.has("bcm2837-rpi-3-b.dtb"), false);
    assert.ok(
      [...pi4.keys()].some((f) => /^overlays\/.+\.dtbo$/.test(f)),
      "raspi-firmware's overlays",
    );
    for (const files of [pi3, pi4]) {
      assert.match(
        files.get("config.txt") ?? "",
        /^arm_64bit=1$[\s\S]*^kernel=vmlinuz$[\s\S]*^initramfs initrd\.img followkernel$/m,
      );
      assert.match(
        files.get("cmdline.txt") ?? "",
        /^boot=strata strata\.version=1 strata\.root=immutable strata\.store=LABEL=strata-store console=tty0 console=ttyS1,115200\n$/,
      );
    }
    assert.match(pi4.get("config.txt") ?? "", /\n# From the recipe:\ndtparam=audio=on\n$/);
  });

  it("boots the Pi 3's image in QEMU's raspi3b to a login on the stacked layers, its store grown to the card", async () => {
    const m = await bootMachine({ image: image("pi3"), arch: "arm64", boot: "rpi", board: "rpi3" });
    await whileLoggedIn(m, async () => {
      assert.ok(m.argv.includes("raspi3b") && m.argv.includes("-dtb"), m.argv.join(" "));
      assert.match(await ok(m, "tr -d '\\0' </proc/device-tree/model"), /Raspberry Pi 3 Model B/);
      assert.equal((await ok(m, "uname -m")).trim(), "aarch64");
      assert.match(await ok(m, "findmnt -n -o FSTYPE /"), /^overlay/m);
      assert.equal((await ok(m, "cat /etc/strata-example")).trim(), "from the system layer");
      assert.equal((await m.exec("test -e /etc/issue.net")).status, 1);
      assert.match(await ok(m, "findmnt -n -o SOURCE /run/strata/store"), /^\/dev\/mmcblk0p2$/m);
      // The card QEMU got is the image grown to 1 GiB; the store's partition grew to its end.
      const card = Number((await ok(m, "cat /sys/class/block/mmcblk0/size")).trim());
      const part = await ok(
        m,
        "cat /sys/class/block/mmcblk0p2/start /sys/class/block/mmcblk0p2/size",
      );
      const [start, size] = part.trim().split(/\s+/).map(Number) as [number, number];
      assert.equal(card * 512, 1024 ** 3);
      assert.ok(start + size >= card - 2048, `${start}+${size} of ${card}`);
      assert.match(await ok(m, "tty </dev/console; cat /proc/consoles"), /ttyS1/);
    });
  });
});
