/**
 * The QEMU command line, flag by flag, for each architecture, firmware, accelerator and console,
 * and for the outputs that boot into RAM: direct kernel boot, more drives, PXE.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { StrataError } from "../../src/errors.js";
import { optionValue, qemuArgv, type VmConfig } from "../../src/vm/argv.js";

const firmware = { code: "/fw/CODE.fd", vars: "/tmp/x/efivars.fd" };
const amd64: VmConfig = {
  arch: "amd64",
  accel: "tcg",
  boot: "uefi",
  firmware,
  memoryMiB: 1024,
  disk: { path: "/tmp/x/disk.img", cache: "unsafe" },
  serial: { kind: "pipe" },
};

/** The value after `flag` (each occurrence). */
function values(argv: string[], flag: string): string[] {
  return argv.flatMap((a, i) => (a === flag ? [argv[i + 1] as string] : []));
}

function usageError(config: VmConfig, message: RegExp): void {
  assert.throws(
    () => qemuArgv(config),
    (e: StrataError) => e.code === "E_USAGE" && message.test(e.message) && e.hint !== undefined,
  );
}

describe("qemuArgv", () => {
  it("boots amd64 on q35 with qemu-system-x86_64", () => {
    const argv = qemuArgv(amd64);
    assert.equal(argv[0], "qemu-system-x86_64");
    assert.deepEqual(values(argv, "-machine"), ["q35"]);
    assert.deepEqual(values(argv, "-m"), ["1024"]);
    assert.deepEqual(values(argv, "-smp"), ["1"]);
    assert.deepEqual(values(argv, "-name"), ["strata"]);
  });

  it("boots arm64 on virt with qemu-system-aarch64", () => {
    const argv = qemuArgv({ ...amd64, arch: "arm64" });
    assert.equal(argv[0], "qemu-system-aarch64");
    assert.deepEqual(values(argv, "-machine"), ["virt"]);
  });

  it("uses -cpu max under TCG and -cpu host under KVM", () => {
    assert.deepEqual(values(qemuArgv(amd64), "-accel"), ["tcg"]);
    assert.deepEqual(values(qemuArgv(amd64), "-cpu"), ["max"]);
    const kvm = qemuArgv({ ...amd64, accel: "kvm" });
    assert.deepEqual(values(kvm, "-accel"), ["kvm"]);
    assert.deepEqual(values(kvm, "-cpu"), ["host"]);
    assert.deepEqual(values(qemuArgv({ ...amd64, arch: "arm64" }), "-cpu"), ["max"]);
  });

  it("gives UEFI read-only code and the writable vars copy as two pflash drives", () => {
    const drives = values(qemuArgv(amd64), "-drive").filter((d) => d.startsWith("if=pflash"));
    assert.deepEqual(drives, [
      "if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE.fd",
      "if=pflash,format=raw,unit=1,file=/tmp/x/efivars.fd",
    ]);
  });

  it("boots BIOS images with SeaBIOS: no pflash", () => {
    const argv = qemuArgv({ ...amd64, boot: "bios", firmware: undefined });
    assert.equal(
      values(argv, "-drive").filter((d) => d.includes("pflash")).length,
      0,
      argv.join(" "),
    );
    assert.ok(!argv.includes("-bios"));
  });

  it("attaches the disk as raw virtio-blk with the cache mode asked for", () => {
    assert.deepEqual(
      values(qemuArgv(amd64), "-drive").filter((d) => d.startsWith("if=virtio")),
      ["if=virtio,format=raw,discard=unmap,cache=unsafe,file=/tmp/x/disk.img"],
    );
    const inPlace = qemuArgv({ ...amd64, disk: { path: "/img/a.img" } });
    assert.ok(
      values(inPlace, "-drive").includes(
        "if=virtio,format=raw,discard=unmap,cache=writeback,file=/img/a.img",
      ),
    );
  });

  it("escapes commas in paths, as QEMU's option syntax wants", () => {
    assert.equal(optionValue("/a,b/c,,d"), "/a,,b/c,,,,d");
    const argv = qemuArgv({ ...amd64, disk: { path: "/x,y.img" } });
    assert.ok(values(argv, "-drive").some((d) => d.endsWith("file=/x,,y.img")));
  });

  it("has user-mode networking with virtio-net, and forwards SSH only on loopback", () => {
    assert.deepEqual(values(qemuArgv(amd64), "-nic"), ["user,model=virtio-net-pci"]);
    assert.deepEqual(values(qemuArgv({ ...amd64, network: { sshPort: 2222 } }), "-nic"), [
      "user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:2222-:22",
    ]);
    assert.deepEqual(values(qemuArgv({ ...amd64, network: false }), "-nic"), []);
  });

  it("has no graphics, no default devices, an RNG, and lets the guest reboot", () => {
    const argv = qemuArgv(amd64);
    assert.deepEqual(values(argv, "-display"), ["none"]);
    assert.ok(argv.includes("-nodefaults"));
    assert.deepEqual(values(argv, "-device"), ["virtio-rng-pci"]);
    assert.ok(!argv.includes("-no-reboot"));
    assert.ok(!argv.includes("-no-shutdown"));
  });

  it("puts the serial console on pipes for the library", () => {
    const argv = qemuArgv(amd64);
    assert.deepEqual(values(argv, "-chardev"), ["stdio,id=console,signal=off"]);
    assert.deepEqual(values(argv, "-serial"), ["chardev:console"]);
    assert.deepEqual(values(argv, "-mon"), []);
  });

  it("gives the monitor a Unix socket when asked, commas doubled, and none otherwise", () => {
    assert.deepEqual(values(qemuArgv(amd64), "-monitor"), []);
    assert.deepEqual(values(qemuArgv({ ...amd64, monitor: "/tmp/a,b/monitor.sock" }), "-monitor"), [
      "unix:/tmp/a,,b/monitor.sock,server=on,wait=off",
    ]);
  });

  it("shares the terminal between console and monitor for strata run (Ctrl-A X quits)", () => {
    const argv = qemuArgv({ ...amd64, serial: { kind: "terminal" } });
    assert.deepEqual(values(argv, "-chardev"), ["stdio,id=console,mux=on,signal=off"]);
    assert.deepEqual(values(argv, "-serial"), ["chardev:console"]);
    assert.deepEqual(values(argv, "-mon"), ["chardev=console,mode=readline"]);
  });

  it("can leave the serial port unconnected and append extra arguments", () => {
    const argv = qemuArgv({
      ...amd64,
      serial: { kind: "none" },
      extraArgs: ["-device", "isa-debugcon,iobase=0x402,chardev=dbg"],
    });
    assert.deepEqual(values(argv, "-serial"), []);
    assert.deepEqual(argv.slice(-2), ["-device", "isa-debugcon,iobase=0x402,chardev=dbg"]);
  });

  it("gives one vCPU under TCG and two with KVM unless told", () => {
    assert.deepEqual(values(qemuArgv({ ...amd64, accel: "tcg" }), "-smp"), ["1"]);
    assert.deepEqual(values(qemuArgv({ ...amd64, accel: "kvm" }), "-smp"), ["2"]);
    assert.deepEqual(values(qemuArgv({ ...amd64, accel: "tcg", cpus: 2 }), "-smp"), ["2"]);
  });

  it("takes cpus and a name", () => {
    const argv = qemuArgv({ ...amd64, cpus: 4, name: "kiosk" });
    assert.deepEqual(values(argv, "-smp"), ["4"]);
    assert.deepEqual(values(argv, "-name"), ["kiosk"]);
  });

  it("rejects what cannot boot, with a hint", () => {
    usageError({ ...amd64, arch: "arm64", boot: "bios" }, /arm64 images boot only with UEFI/);
    usageError({ ...amd64, arch: "armhf" as "arm64" }, /cannot boot armhf/);
    usageError({ ...amd64, memoryMiB: 10 }, /at least 64 MiB/);
    usageError({ ...amd64, cpus: 0 }, /--cpus/);
    usageError({ ...amd64, cpus: 1.5 }, /--cpus/);
    usageError({ ...amd64, network: { sshPort: 70000 } }, /not a TCP port: 70000/);
    assert.throws(
      () => qemuArgv({ ...amd64, firmware: undefined }),
      (e: StrataError) => e.code === "E_VM",
    );
  });
});

const bios: VmConfig = {
  arch: "amd64",
  accel: "tcg",
  boot: "bios",
  memoryMiB: 1024,
  serial: { kind: "pipe" },
};
const kernel = {
  path: "/live/vmlinuz",
  initrd: "/live/initrd.img",
  append: "boot=strata strata.live=auto console=ttyS0,115200",
};

describe("qemuArgv for RAM boots", () => {
  it("boots a kernel and initramfs directly, with the command line", () => {
    const argv = qemuArgv({ ...bios, kernel });
    const at = argv.indexOf("-kernel");
    assert.ok(at > 0, argv.join(" "));
    assert.deepEqual(argv.slice(at, at + 6), [
      "-kernel",
      "/live/vmlinuz",
      "-initrd",
      "/live/initrd.img",
      "-append",
      "boot=strata strata.live=auto console=ttyS0,115200",
    ]);
    assert.equal(values(argv, "-kernel").length, 1);
    for (const flag of ["-kernel", "-initrd", "-append"]) {
      assert.ok(!qemuArgv(bios).includes(flag), flag);
    }
  });

  it("refuses a command line of several lines", () => {
    usageError({ ...bios, kernel: { ...kernel, append: "quiet\ninit=/bin/sh" } }, /one line/);
  });

  it("attaches extra drives after the disk, read-only when asked", () => {
    const argv = qemuArgv({
      ...bios,
      disk: { path: "/img/disk.img" },
      drives: [{ path: "/live/root.sqfs", readonly: true }, { path: "/tmp/target,1.img" }],
    });
    assert.deepEqual(values(argv, "-drive"), [
      "if=virtio,format=raw,discard=unmap,cache=writeback,file=/img/disk.img",
      "if=virtio,format=raw,readonly=on,file=/live/root.sqfs",
      "if=virtio,format=raw,file=/tmp/target,,1.img",
    ]);
    const only = qemuArgv({ ...bios, kernel, drives: [{ path: "/r.sqfs", readonly: true }] });
    assert.deepEqual(values(only, "-drive"), ["if=virtio,format=raw,readonly=on,file=/r.sqfs"]);
  });

  it("boots from the network first for PXE, with QEMU's TFTP and boot file", () => {
    const argv = qemuArgv({
      ...bios,
      pxe: true,
      network: { tftp: "/tmp/strata-tftp,x", bootfile: "boot.ipxe" },
    });
    assert.deepEqual(values(argv, "-boot"), ["order=n"]);
    assert.deepEqual(values(argv, "-nic"), [
      "user,model=virtio-net-pci,tftp=/tmp/strata-tftp,,x,bootfile=boot.ipxe",
    ]);
    assert.deepEqual(values(qemuArgv(bios), "-boot"), []);
    // PXE with the default network: a NIC, no TFTP.
    const plain = qemuArgv({ ...bios, pxe: true });
    assert.deepEqual(values(plain, "-nic"), ["user,model=virtio-net-pci"]);
    assert.deepEqual(values(plain, "-boot"), ["order=n"]);
  });

  it("puts the SSH forward before tftp and bootfile, and doubles commas in the boot file", () => {
    const argv = qemuArgv({
      ...bios,
      pxe: true,
      network: { sshPort: 2222, tftp: "/t", bootfile: "a,b.ipxe" },
    });
    assert.deepEqual(values(argv, "-nic"), [
      "user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:2222-:22,tftp=/t,bootfile=a,,b.ipxe",
    ]);
  });

  it("refuses PXE on arm64 and without a network", () => {
    usageError({ ...bios, arch: "arm64", kernel, pxe: true }, /PXE boots are amd64/);
    usageError({ ...bios, pxe: true, network: false }, /needs the network/);
  });

  it("boots arm64 without firmware only with a kernel", () => {
    const argv = qemuArgv({ ...bios, arch: "arm64", kernel });
    assert.equal(argv[0], "qemu-system-aarch64");
    assert.deepEqual(values(argv, "-kernel"), ["/live/vmlinuz"]);
    assert.equal(values(argv, "-drive").filter((d) => d.includes("pflash")).length, 0);
    usageError({ ...bios, arch: "arm64" }, /arm64 images boot only with UEFI/);
  });
});

describe("qemuArgv with a USB stick", () => {
  it("attaches the disk as a removable usb-storage device on an XHCI controller, booted first", () => {
    const argv = qemuArgv({ ...amd64, disk: { path: "/w/stick,1.img", usb: true } });
    const drives = values(argv, "-drive").filter((d) => !d.includes("pflash"));
    assert.deepEqual(drives, ["if=none,id=stick,format=raw,cache=writeback,file=/w/stick,,1.img"]);
    const devices = values(argv, "-device");
    assert.ok(devices.includes("qemu-xhci,id=xhci"), devices.join(" "));
    assert.ok(
      devices.includes("usb-storage,bus=xhci.0,drive=stick,removable=on,bootindex=0"),
      devices.join(" "),
    );
    assert.ok(
      argv.indexOf("qemu-xhci,id=xhci") < argv.findIndex((a) => a.startsWith("usb-storage")),
    );
    assert.ok(!argv.some((a) => a.startsWith("if=virtio")), argv.join(" "));
    const withKernel = qemuArgv({ ...bios, disk: { path: "/s.img", usb: true }, kernel });
    assert.ok(!withKernel.some((a) => a.includes("bootindex")), withKernel.join(" "));
  });
});

describe("qemuArgv with a CD", () => {
  const cdDrives = (argv: string[]) => values(argv, "-drive").filter((d) => d.includes("id=cd"));

  it("attaches the ISO as a read-only raw CD on an IDE/AHCI device, booted first", () => {
    const argv = qemuArgv({ ...bios, cdrom: "/out/kiosk.iso" });
    assert.deepEqual(cdDrives(argv), [
      "if=none,id=cd,media=cdrom,readonly=on,format=raw,file=/out/kiosk.iso",
    ]);
    assert.deepEqual(values(argv, "-device"), ["ide-cd,drive=cd,bootindex=0", "virtio-rng-pci"]);
    // The drive is defined before the device that uses it.
    assert.ok(argv.indexOf("ide-cd,drive=cd,bootindex=0") > argv.indexOf(cdDrives(argv)[0] ?? ""));
  });

  it("doubles commas in the ISO's path", () => {
    const argv = qemuArgv({ ...bios, cdrom: "/out/a,b/kiosk,1.iso" });
    assert.deepEqual(cdDrives(argv), [
      "if=none,id=cd,media=cdrom,readonly=on,format=raw,file=/out/a,,b/kiosk,,1.iso",
    ]);
  });

  it("gives the CD no boot index when QEMU boots a kernel itself", () => {
    const argv = qemuArgv({ ...bios, cdrom: "/out/kiosk.iso", kernel });
    assert.ok(values(argv, "-device").includes("ide-cd,drive=cd"), argv.join(" "));
    assert.ok(!argv.some((a) => a.includes("bootindex")), argv.join(" "));
    assert.deepEqual(values(argv, "-kernel"), ["/live/vmlinuz"]);
  });

  it("boots a CD with UEFI too, beside the pflash drives and a target disk", () => {
    const argv = qemuArgv({ ...amd64, cdrom: "/out/kiosk.iso", drives: [{ path: "/t.img" }] });
    assert.deepEqual(values(argv, "-drive"), [
      "if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE.fd",
      "if=pflash,format=raw,unit=1,file=/tmp/x/efivars.fd",
      "if=virtio,format=raw,discard=unmap,cache=unsafe,file=/tmp/x/disk.img",
      "if=none,id=cd,media=cdrom,readonly=on,format=raw,file=/out/kiosk.iso",
      "if=virtio,format=raw,file=/t.img",
    ]);
    assert.ok(values(argv, "-device").includes("ide-cd,drive=cd,bootindex=0"));
  });

  it("puts an arm64 CD on a bus that QEMU's virt machine has", () => {
    // q35 has an AHCI controller built in; virt has no IDE bus at all, so a bare ide-cd makes
    // QEMU exit with "No 'IDE' bus found for device 'ide-cd'".
    const argv = qemuArgv({ ...amd64, arch: "arm64", cdrom: "/out/kiosk.iso" });
    const devices = values(argv, "-device");
    assert.equal(cdDrives(argv).length, 1, argv.join(" "));
    assert.ok(
      devices.some((d) => /(^|,)drive=cd(,|$)/.test(d) && /bootindex=0/.test(d)),
      devices.join(" "),
    );
    // A device on a named bus has that bus's controller on the command line.
    for (const d of devices) {
      const bus = /(?:^|,)bus=([^.,]+)\./.exec(d)?.[1];
      if (bus !== undefined) {
        assert.ok(
          devices.some((c) => c.split(",").includes(`id=${bus}`)),
          `${d}: no controller ${bus}`,
        );
      }
    }
    const withKernel = qemuArgv({ ...bios, arch: "arm64", cdrom: "/out/kiosk.iso", kernel });
    assert.ok(!withKernel.some((a) => a.includes("bootindex")), withKernel.join(" "));
    assert.ok(
      values(withKernel, "-device").some((d) => /(^|,)drive=cd(,|$)/.test(d)),
      withKernel.join(" "),
    );
    if (devices.some((d) => d.startsWith("ide-cd"))) {
      assert.ok(
        devices.some((d) => /^(ich9-)?ahci(,|$)/.test(d)),
        `ide-cd without an AHCI controller on virt: ${devices.join(" ")}`,
      );
    }
  });

  it("has no CD unless asked", () => {
    for (const argv of [qemuArgv(amd64), qemuArgv(bios), qemuArgv({ ...bios, kernel })]) {
      assert.deepEqual(cdDrives(argv), []);
      assert.ok(!argv.some((a) => a.startsWith("ide-cd")), argv.join(" "));
    }
  });
});
