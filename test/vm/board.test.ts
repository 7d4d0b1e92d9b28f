/**
 * Booting a Raspberry Pi image in QEMU: the raspi3b command line (its SD card, the device
 * tree, the console on the second serial port, no PCI devices), the virt machine for the
 * boards QEMU lacks, the command line's console for each, the SD card's power-of-two size,
 * and reading the boot partition's place and files off a real MBR image made with sfdisk,
 * mkfs.vfat and mtools.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { StrataError } from "../../src/errors.js";
import { qemuArgv, type VmConfig } from "../../src/vm/argv.js";
import {
  boardAppend,
  firstPartitionOffset,
  prepareBoardBoot,
  sdCardBytes,
} from "../../src/vm/board.js";
import { tempDir } from "../helpers.js";

const kernel = { path: "/k/vmlinuz", initrd: "/k/initrd.img", append: "console=ttyS1,115200" };
const pi3: VmConfig = {
  arch: "arm64",
  accel: "tcg",
  boot: "rpi",
  memoryMiB: 2048,
  disk: { path: "/tmp/x/pi.img", cache: "unsafe" },
  kernel,
  board: { machine: "raspi3b", dtb: "/k/bcm2837-rpi-3-b.dtb" },
  serial: { kind: "pipe" },
  monitor: "/tmp/x/monitor.sock",
};

describe("a Raspberry Pi's QEMU command line", () => {
  it("raspi3b: the image as its SD card, its device tree, 1 GiB, the console on the mini UART", () => {
    const argv = qemuArgv(pi3);
    const at = (flag: string) => argv[argv.indexOf(flag) + 1];
    assert.equal(argv[0], "qemu-system-aarch64");
    assert.equal(at("-machine"), "raspi3b");
    assert.equal(at("-m"), "1024");
    assert.equal(at("-drive"), "if=sd,format=raw,file=/tmp/x/pi.img");
    assert.equal(at("-dtb"), "/k/bcm2837-rpi-3-b.dtb");
    assert.equal(at("-append"), "console=ttyS1,115200");
    // The first serial port (the PL011, Bluetooth's on a Pi 3) is left unconnected.
    const serials = argv.flatMap((a, i) => (a === "-serial" ? [argv[i + 1]] : []));
    assert.deepEqual(serials, ["null", "chardev:console"]);
    assert.equal(at("-monitor"), "unix:/tmp/x/monitor.sock,server=on,wait=off");
    // The SoC has no PCI bus: no virtio device, and its CPUs are its own.
    assert.equal(
      argv.some((a) => /virtio|^-cpu$|^-smp$|^-nic$/.test(a)),
      false,
      argv.join(" "),
    );
  });

  it("virt: a Pi 4's image as any arm64 disk, with its kernel", () => {
    const argv = qemuArgv({ ...pi3, board: { machine: "virt" } });
    assert.equal(argv[argv.indexOf("-machine") + 1], "virt");
    assert.ok(argv.includes("-kernel") && !argv.includes("-dtb"), argv.join(" "));
    assert.match(argv.join(" "), /if=virtio,format=raw/);
  });

  it("needs the kernel and the board, on arm64", () => {
    for (const bad of [{ kernel: undefined }, { board: undefined }, { arch: "amd64" as const }]) {
      assert.throws(
        () => qemuArgv({ ...pi3, ...bad }),
        (e: StrataError) => e.code === "E_VM",
      );
    }
  });

  it("moves the board's console to ttyAMA0 on virt only", () => {
    const line = "boot=strata console=tty0 console=ttyS1,115200 quiet\n";
    assert.equal(boardAppend(line, "rpi3", "raspi3b"), line.trim());
    assert.equal(
      boardAppend(line, "rpi4", "virt"),
      "boot=strata console=tty0 console=ttyAMA0,115200 quiet",
    );
    assert.equal(boardAppend("console=ttyAMA10,115200", "rpi5", "virt"), "console=ttyAMA0,115200");
    assert.equal(boardAppend("console=ttyS10", "rpi4", "virt"), "console=ttyS10");
  });

  it("sizes an SD card to the next power of two", () => {
    assert.deepEqual([1, 2, 3, 1024, 1025, 825229312].map(sdCardBytes), [
      1,
      2,
      4,
      1024,
      2048,
      1024 ** 3,
    ]);
  });
});

describe("reading a Pi image's boot partition", () => {
  /** An MBR image: a FAT partition (type c) at 1 MiB holding the firmware's files. */
  const image = () => {
    const dir = tempDir("strata-pi-image-");
    const img = join(dir, "pi.img");
    execFileSync("truncate", ["-s", "40M", img]);
    execFileSync("sfdisk", ["--quiet", img], {
      input: "label: dos\nstart=2048, size=61440, type=c\nstart=63488, type=83\n",
    });
    const fat = join(dir, "fat.img");
    execFileSync("mkfs.vfat", ["-C", fat, String(30 * 1024)], { stdio: "ignore" });
    const files = {
      "cmdline.txt": "boot=strata console=tty0 console=ttyS1,115200\n",
      vmlinuz: "the kernel",
      "initrd.img": "the initramfs",
      "bcm2837-rpi-3-b.dtb": "the device tree",
    };
    for (const [name, content] of Object.entries(files)) {
      writeFileSync(join(dir, name), content);
      execFileSync("mcopy", ["-i", fat, join(dir, name), `::/${name}`], {
        env: { ...process.env, MTOOLS_SKIP_CHECK: "1" },
      });
    }
    execFileSync("dd", [`if=${fat}`, `of=${img}`, "bs=1M", "seek=1", "conv=notrunc"], {
      stdio: "ignore",
    });
    return { dir, img };
  };

  it("finds the first partition, takes its files, and grows a raspi3b's card (a copy) to 64 MiB", async () => {
    const { dir, img } = image();
    assert.equal(firstPartitionOffset(img), 1024 * 1024);
    const b = await prepareBoardBoot(img, "rpi3", dir, true);
    assert.equal(b.machine, "raspi3b");
    assert.equal(readFileSync(b.kernel.path, "utf8"), "the kernel");
    assert.equal(readFileSync(b.kernel.initrd, "utf8"), "the initramfs");
    assert.equal(readFileSync(b.dtb ?? "", "utf8"), "the device tree");
    assert.equal(b.kernel.append, "boot=strata console=tty0 console=ttyS1,115200");
    assert.equal(statSync(img).size, 64 * 1024 * 1024);

    const v = await prepareBoardBoot(img, "rpi4", dir, false);
    assert.deepEqual([v.machine, v.dtb], ["virt", undefined]);
    assert.equal(v.kernel.append, "boot=strata console=tty0 console=ttyAMA0,115200");
  });

  it("never grows the image itself, and refuses a disk without an MBR", async () => {
    const { dir, img } = image();
    await assert.rejects(
      prepareBoardBoot(img, "rpi3", dir, false),
      (e: StrataError) => e.code === "E_USAGE" && /power of two/.test(e.message),
    );
    assert.equal(statSync(img).size, 40 * 1024 * 1024);
    const blank = join(dir, "blank.img");
    execFileSync("truncate", ["-s", "4M", blank]);
    assert.throws(
      () => firstPartitionOffset(blank),
      (e: StrataError) => e.code === "E_USAGE" && /no MBR partition table/.test(e.message),
    );
  });
});
