/**
 * `strata run` as a user runs it, with the FAKE qemu first in PATH (it records its command
 * line and the sizes of its disks, then "powers off" with the exit code it is told): a copy is
 * booted and removed afterwards, the options reach QEMU, the exit code comes back, and bad
 * arguments are E_USAGE with a hint.
 */
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { cli, tempDir, writeRecipe } from "../helpers.js";
import { entriesWith, fakeImage, installFakeQemu } from "../vm/fake.js";

const dir = tempDir("strata-run-test-");
const tmp = join(dir, "tmp");
const record = join(dir, "qemu.json");
let env: Record<string, string>;
let image: string;

before(() => {
  mkdirSync(tmp);
  env = {
    PATH: `${installFakeQemu(dir)}:${process.env.PATH}`,
    STRATA_ACCEL: "tcg",
    TMPDIR: tmp,
    FAKE_QEMU_ARGV: record,
    FAKE_QEMU_MODE: "exit:0",
  };
  image = fakeImage(dir, { arch: "amd64", boot: "bios" });
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Recorded {
  argv: string[];
  sizes: Record<string, number>;
}

function run(args: string[], extra: Record<string, string> = {}) {
  rmSync(record, { force: true });
  const r = cli(["run", ...args], { ...env, ...extra });
  const recorded = existsSync(record)
    ? (JSON.parse(readFileSync(record, "utf8")) as Recorded)
    : undefined;
  return { ...r, recorded };
}

const value = (argv: string[], flag: string) => argv[argv.indexOf(flag) + 1];
const disk = (argv: string[]) =>
  argv.find((a) => a.startsWith("if=virtio"))?.replace(/^.*file=/, "") ?? "";

describe("strata run IMAGE", () => {
  it("boots a copy on the terminal and removes it afterwards", () => {
    const r = run([image]);
    assert.equal(r.code, 0, r.stderr);
    const argv = r.recorded?.argv ?? [];
    assert.equal(value(argv, "-chardev"), "stdio,id=console,mux=on,signal=off");
    assert.equal(value(argv, "-machine"), "q35");
    assert.equal(value(argv, "-m"), "1024");
    assert.equal(value(argv, "-smp"), "1", "one vCPU under TCG");
    assert.notEqual(disk(argv), image);
    assert.ok(disk(argv).startsWith(tmp), disk(argv));
    assert.equal(r.recorded?.sizes[disk(argv)], statSync(image).size);
    assert.match(r.stderr, /a copy/);
    assert.match(r.stderr, /Ctrl-A X quits/);
    assert.equal(existsSync(disk(argv)), false);
    assert.deepEqual(entriesWith(tmp, "strata-vm-"), []);
  });

  it("passes memory, CPUs, the SSH forward and a larger disk on", () => {
    const r = run([image, "--memory", "2G", "--cpus", "3", "--ssh", "2222", "--disk-size", "128M"]);
    assert.equal(r.code, 0, r.stderr);
    const argv = r.recorded?.argv ?? [];
    assert.equal(value(argv, "-m"), "2048");
    assert.equal(value(argv, "-smp"), "3");
    assert.equal(value(argv, "-nic"), "user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:2222-:22");
    assert.equal(r.recorded?.sizes[disk(argv)], 128 * 1024 * 1024);
    assert.equal(statSync(image).size, 64 * 1024 * 1024, "the image itself did not grow");
    assert.match(r.stderr, /ssh -p 2222 root@127\.0\.0\.1/);
  });

  it("boots the image itself with --in-place", () => {
    const r = run([image, "--in-place"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(disk(r.recorded?.argv ?? []), image);
    assert.ok(r.recorded?.argv.some((a) => a.includes("cache=writeback")));
    assert.ok(existsSync(image));
  });

  it("boots UEFI with the firmware's code and a copy of its vars", () => {
    const r = run([image, "--boot", "uefi"]);
    assert.equal(r.code, 0, r.stderr);
    const pflash = (r.recorded?.argv ?? []).filter((a) => a.startsWith("if=pflash"));
    assert.equal(pflash.length, 2);
    assert.match(pflash[0] ?? "", /readonly=on,file=\/usr\/share\/OVMF\//);
    assert.match(pflash[1] ?? "", new RegExp(`file=${tmp}/strata-vm-[^/]+/efivars\\.fd$`));
    assert.deepEqual(entriesWith(tmp, "strata-vm-"), []);
  });

  it("returns QEMU's exit code", () => {
    assert.equal(run([image], { FAKE_QEMU_MODE: "exit:3" }).code, 3);
  });

  it("needs --arch and --boot for an image without a sidecar", () => {
    const bare = join(dir, "bare");
    mkdirSync(bare);
    const img = fakeImage(bare, false);
    const r = run([img]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /error\[E_USAGE\]: .*bare\/fake\.img\.json is missing/);
    assert.match(r.stderr, /hint: pass --arch amd64\|arm64 and --boot uefi\|bios/);
    assert.equal(r.recorded, undefined);
    assert.equal(run([img, "--arch", "amd64", "--boot", "bios"]).code, 0);
  });

  it("rejects bad numbers and a missing image with E_USAGE", () => {
    for (const args of [
      [image, "--cpus", "0"],
      [image, "--ssh", "http"],
      [image, "--memory", "lots"],
      [join(dir, "missing.img")],
    ]) {
      const r = run(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /error\[E_USAGE\]/);
      assert.match(r.stderr, /hint: /);
    }
  });
});

describe("strata run ISO", () => {
  const MIB = 1024 * 1024;
  /** A file posing as an ISO, with the .iso.json an iso output writes. */
  function fakeIso(name: string, sidecar: Record<string, unknown> = {}): string {
    const iso = join(dir, `${name}.iso`);
    writeFileSync(iso, "not really an ISO");
    truncateSync(iso, 8 * MIB);
    writeFileSync(
      `${iso}.json`,
      JSON.stringify({
        format: "strata-iso/1",
        arch: "amd64",
        recipe: "kiosk",
        firmware: ["uefi", "bios"],
        label: "STRATA_ISO",
        cmdline: "boot=strata",
        console: "ttyS0",
        installer: false,
        disk: { boot: "uefi", bytes: 4 * MIB },
        bytes: 8 * MIB,
        ...sidecar,
      }),
    );
    return iso;
  }
  const usbDrive = (argv: string[]) =>
    argv.find((a) => a.startsWith("if=none,id=stick"))?.replace(/^.*file=/, "") ?? "";

  it("boots an ISO as a CD with its first firmware, and --boot picks the other", () => {
    const iso = fakeIso("cd");
    const r = run([iso]);
    assert.equal(r.code, 0, r.stderr);
    const argv = r.recorded?.argv ?? [];
    assert.ok(argv.includes(`if=none,id=cd,media=cdrom,readonly=on,format=raw,file=${iso}`));
    assert.equal(argv.filter((a) => a.startsWith("if=pflash")).length, 2, "UEFI first");
    assert.match(r.stderr, /as a CD: amd64, uefi/);
    const bios = run([iso, "--boot", "bios"]);
    assert.equal(bios.code, 0, bios.stderr);
    assert.ok(!(bios.recorded?.argv ?? []).some((a) => a.startsWith("if=pflash")));
  });

  it("boots it as a USB stick with --usb: a copy 1 GiB larger, or --disk-size", () => {
    const iso = fakeIso("stick");
    const r = run([iso, "--usb"]);
    assert.equal(r.code, 0, r.stderr);
    const argv = r.recorded?.argv ?? [];
    const stick = usbDrive(argv);
    assert.ok(stick.startsWith(tmp) && stick !== iso, stick);
    assert.equal(r.recorded?.sizes[stick], 8 * MIB + 1024 * MIB);
    assert.ok(argv.some((a) => a.startsWith("usb-storage,") && a.includes("bootindex=0")));
    assert.ok(!argv.some((a) => a.includes("media=cdrom")), "not a CD as well");
    assert.match(r.stderr, /as a USB stick \(a copy: /);
    assert.equal(statSync(iso).size, 8 * MIB, "the ISO itself did not grow");
    assert.deepEqual(entriesWith(tmp, "strata-vm-"), []);
    const sized = run([iso, "--usb", "--disk-size", "64M"]);
    assert.equal(sized.code, 0, sized.stderr);
    assert.equal(sized.recorded?.sizes[usbDrive(sized.recorded.argv)], 64 * MIB);
  });

  it("refuses --usb for a CD-only ISO and for a disk image, and a firmware the ISO lacks", () => {
    const cdOnly = run([fakeIso("cdonly", { hybrid: false }), "--usb"]);
    assert.equal(cdOnly.code, 2, cdOnly.stderr);
    assert.match(
      cdOnly.stderr,
      /error\[E_USAGE\]: .*cdonly\.iso is a CD-only ISO \(hybrid: false\)/,
    );
    assert.equal(cdOnly.recorded, undefined);
    const img = run([image, "--usb"]);
    assert.equal(img.code, 2, img.stderr);
    assert.match(img.stderr, /--usb boots an ISO, and .*fake\.img is not one/);
    const uefiOnly = run([fakeIso("uefionly", { firmware: ["uefi"] }), "--boot", "bios"]);
    assert.equal(uefiOnly.code, 2, uefiOnly.stderr);
    assert.match(uefiOnly.stderr, /does not boot with bios/);
    assert.match(uefiOnly.stderr, /hint: it boots with: uefi/);
  });
});

describe("strata run RECIPE", () => {
  it("refuses a recipe without a disk output before building anything", () => {
    const recipe = writeRecipe(
      "name: nodisk\nlayers:\n  - name: base\n    bootstrap: { variant: minbase }\noutputs:\n  - { type: tar }\n",
    );
    const r = run([recipe, "--out", join(dir, "out")]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /recipe 'nodisk' has no disk output to boot/);
    assert.match(r.stderr, /hint: add one/);
    assert.equal(existsSync(join(dir, "out")), false);
  });

  it("names the disk outputs when --output names none of them", () => {
    const recipe = writeRecipe(
      "name: twodisks\nlayers:\n  - name: base\n    bootstrap: { variant: minbase }\noutputs:\n  - { type: disk, name: a }\n  - { type: disk, name: b, boot: bios, table: mbr }\n",
    );
    const r = run([recipe, "--output", "c"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /no disk output named 'c'/);
    assert.match(r.stderr, /hint: its disk outputs are: a, b/);
  });
});
