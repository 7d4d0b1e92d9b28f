/**
 * The QEMU command line for booting a strata disk image, as a pure function of a plain config,
 * so every flag is decided (and unit-tested) in one place: the machine per architecture, the
 * accelerator, UEFI (read-only code + a writable copy of the vars) or SeaBIOS, a virtio disk, a
 * virtio NIC on user-mode networking with an optional SSH port forward, a virtio RNG (so the
 * guest never waits for entropy), no graphics, and the serial console on a terminal or pipes.
 * `-no-reboot` is never passed: guests must be able to reboot.
 */
import { StrataError } from "../errors.js";

export type VmArch = "amd64" | "arm64";
export type Accel = "kvm" | "tcg";
/** rpi: a Raspberry Pi image, whose kernel QEMU loads as the Pi's firmware would (./board.ts) */
export type Firmware = "uefi" | "bios" | "rpi";

export const VM_ARCHES: readonly VmArch[] = ["amd64", "arm64"];

/** How the guest's first serial port is connected. */
export type SerialConfig =
  /** QEMU's stdio is the user's terminal: Ctrl-A X quits, Ctrl-A C toggles the monitor. */
  | { kind: "terminal" }
  /** QEMU's stdin/stdout are pipes to the library (`Machine`). */
  | { kind: "pipe" }
  /** Not connected. */
  | { kind: "none" };

export interface VmConfig {
  arch: VmArch;
  accel: Accel;
  boot: Firmware;
  /** UEFI firmware: read-only code and a writable (copied) vars file. Required for uefi. */
  firmware?: { code: string; vars: string };
  memoryMiB: number;
  /** Default: defaultCpus(accel). */
  cpus?: number;
  disk?: {
    path: string;
    /** `unsafe` for throwaway copies (fast, nothing is flushed); default `writeback`. */
    cache?: "unsafe" | "writeback";
    /** A USB stick (usb-storage on an XHCI controller), booted first, instead of virtio. */
    usb?: boolean;
  };
  /** More virtio disks after `disk` (a live root.sqfs, an installer's target). */
  drives?: readonly { path: string; readonly?: boolean }[];
  /** A CD (an ISO image) on the machine's AHCI controller, booted first. */
  cdrom?: string;
  /** Direct kernel boot: QEMU loads the kernel and initramfs, no firmware boot loader. */
  kernel?: { path: string; initrd: string; append: string };
  /**
   * A Raspberry Pi image (boot: rpi): the raspi3b machine with `dtb` and the disk as its SD
   * card, or the virt machine as for any arm64 disk.
   */
  board?: { machine: "raspi3b" | "virt"; dtb?: string };
  /** Boot from the network (the NIC's iPXE ROM) before any disk. */
  pxe?: boolean;
  serial: SerialConfig;
  /**
   * User-mode networking with virtio-net (default); `false` for none. `tftp` serves a
   * directory on QEMU's built-in TFTP server and `bootfile` is the file its DHCP names.
   */
  network?: { sshPort?: number; tftp?: string; bootfile?: string } | false;
  /** A Unix socket for QEMU's human monitor (the library resets a stalled boot through it). */
  monitor?: string;
  /** Shown in `ps` and the QEMU monitor. */
  name?: string;
  /** Appended verbatim (e.g. a debug console for the KVM probe). */
  extraArgs?: readonly string[];
}

export const QEMU_BINARY: Record<VmArch, string> = {
  amd64: "qemu-system-x86_64",
  arm64: "qemu-system-aarch64",
};

const MACHINE: Record<VmArch, string> = { amd64: "q35", arm64: "virt" };

function usage(message: string, hint: string): StrataError {
  return new StrataError("E_USAGE", message, { hint });
}

function check(config: VmConfig): void {
  if (!VM_ARCHES.includes(config.arch)) {
    throw usage(`cannot boot ${config.arch} images`, `strata boots ${VM_ARCHES.join(" and ")}`);
  }
  if (config.arch === "arm64" && config.boot === "bios" && !config.kernel) {
    throw usage("arm64 images boot only with UEFI", "use boot: uefi (or --boot uefi)");
  }
  if (config.boot === "rpi" && (!config.kernel || !config.board || config.arch !== "arm64")) {
    throw new StrataError("E_VM", "a Raspberry Pi image boots arm64 with its kernel and a board", {
      hint: "boot it through prepareLaunch(), which reads them off its boot partition",
    });
  }
  if (config.boot === "uefi" && !config.firmware) {
    throw new StrataError("E_VM", "UEFI boot needs firmware code and vars files", {
      hint: "locate them with prepareFirmware() from src/vm/firmware.ts",
    });
  }
  if (!Number.isInteger(config.memoryMiB) || config.memoryMiB < 64) {
    throw usage(`guest memory must be at least 64 MiB, not ${config.memoryMiB}`, "e.g. 1G");
  }
  const cpus = config.cpus ?? defaultCpus(config.accel);
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > 64) {
    throw usage(`--cpus must be a whole number from 1 to 64, not ${cpus}`, "e.g. --cpus 2");
  }
  if (config.pxe && config.arch !== "amd64") {
    throw usage("PXE boots are amd64 (SeaBIOS and its iPXE ROM)", "boot arm64 with --netboot");
  }
  if (config.pxe && config.network === false) {
    throw usage("a network boot needs the network", "leave the network on for --pxe");
  }
  if (config.kernel && /[\n\0]/.test(config.kernel.append)) {
    throw usage("the kernel command line is one line", "remove the line breaks");
  }
  const port = config.network ? config.network.sshPort : undefined;
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw usage(`not a TCP port: ${port}`, "e.g. --ssh 2222");
  }
}

/**
 * Two vCPUs with KVM, one under TCG. With several vCPUs, multi-threaded TCG can run a stale
 * translation of code the guest kernel has just patched on another vCPU (its static keys and
 * alternatives): seen here as an "Oops: int3" a few seconds into boot, at random. One vCPU
 * cannot race with itself, and boots as fast (the measurement is in the closing note of issue 8).
 */
export function defaultCpus(accel: Accel): number {
  return accel === "tcg" ? 1 : 2;
}

/** QEMU's `-drive`/`-chardev` option values separate with commas; a comma in a path is doubled. */
export function optionValue(value: string): string {
  return value.replaceAll(",", ",,");
}

function cpuModel(config: VmConfig): string {
  return config.accel === "kvm" ? "host" : "max";
}

function serialArgs(serial: SerialConfig): string[] {
  switch (serial.kind) {
    case "terminal":
      // A multiplexed stdio: the serial port and the monitor share the terminal (Ctrl-A C),
      // Ctrl-A X quits, and Ctrl-C goes to the guest.
      return [
        "-chardev",
        "stdio,id=console,mux=on,signal=off",
        "-serial",
        "chardev:console",
        "-mon",
        "chardev=console,mode=readline",
      ];
    case "pipe":
      return ["-chardev", "stdio,id=console,signal=off", "-serial", "chardev:console"];
    case "none":
      return [];
  }
}

/**
 * QEMU's Raspberry Pi 3B: its SoC's fixed CPUs and 1 GiB, no PCI (so no virtio disk, NIC or
 * RNG), the disk as its SD card, and the console on the second serial port, the mini UART
 * that the Pi's GPIO header carries (the first, the PL011, drives Bluetooth on a Pi 3).
 */
function raspiArgv(config: VmConfig): string[] {
  const kernel = config.kernel as NonNullable<VmConfig["kernel"]>;
  const argv = [QEMU_BINARY.arm64, "-name", config.name ?? "strata", "-machine", "raspi3b"];
  argv.push("-accel", "tcg", "-m", "1024", "-nodefaults", "-display", "none");
  if (config.disk) argv.push("-drive", `if=sd,format=raw,file=${optionValue(config.disk.path)}`);
  argv.push("-kernel", kernel.path, "-initrd", kernel.initrd, "-append", kernel.append);
  if (config.board?.dtb) argv.push("-dtb", config.board.dtb);
  argv.push("-serial", "null", ...serialArgs(config.serial));
  if (config.monitor !== undefined) {
    argv.push("-monitor", `unix:${optionValue(config.monitor)},server=on,wait=off`);
  }
  argv.push(...(config.extraArgs ?? []));
  return argv;
}

/** The full command line: binary first. */
export function qemuArgv(config: VmConfig): string[] {
  check(config);
  if (config.board?.machine === "raspi3b") return raspiArgv(config);
  const argv = [
    QEMU_BINARY[config.arch],
    "-name",
    config.name ?? "strata",
    "-machine",
    MACHINE[config.arch],
    "-accel",
    config.accel,
    "-cpu",
    cpuModel(config),
    "-smp",
    String(config.cpus ?? defaultCpus(config.accel)),
    "-m",
    String(config.memoryMiB),
    "-nodefaults",
    "-display",
    "none",
  ];
  if (config.boot === "uefi" && config.firmware) {
    argv.push(
      "-drive",
      `if=pflash,format=raw,unit=0,readonly=on,file=${optionValue(config.firmware.code)}`,
      "-drive",
      `if=pflash,format=raw,unit=1,file=${optionValue(config.firmware.vars)}`,
    );
  }
  if (config.disk?.usb) {
    argv.push(
      "-drive",
      `if=none,id=stick,format=raw,cache=${config.disk.cache ?? "writeback"},file=${optionValue(config.disk.path)}`,
      "-device",
      "qemu-xhci,id=xhci",
      "-device",
      `usb-storage,bus=xhci.0,drive=stick,removable=on${config.kernel ? "" : ",bootindex=0"}`,
    );
  } else if (config.disk) {
    argv.push(
      "-drive",
      `if=virtio,format=raw,discard=unmap,cache=${config.disk.cache ?? "writeback"},file=${optionValue(config.disk.path)}`,
    );
  }
  if (config.cdrom) {
    argv.push(
      "-drive",
      `if=none,id=cd,media=cdrom,readonly=on,format=raw,file=${optionValue(config.cdrom)}`,
    );
    // With -kernel QEMU's own loader boots first: the CD is only a disk then.
    const boot = config.kernel ? "" : ",bootindex=0";
    // q35 has an AHCI controller built in; arm64's virt machine has no IDE bus: virtio-scsi.
    if (config.arch === "amd64") argv.push("-device", `ide-cd,drive=cd${boot}`);
    else
      argv.push(
        "-device",
        "virtio-scsi-pci,id=scsi",
        "-device",
        `scsi-cd,bus=scsi.0,drive=cd${boot}`,
      );
  }
  for (const d of config.drives ?? []) {
    const ro = d.readonly ? ",readonly=on" : "";
    argv.push("-drive", `if=virtio,format=raw${ro},file=${optionValue(d.path)}`);
  }
  if (config.kernel) {
    argv.push(
      "-kernel",
      config.kernel.path,
      "-initrd",
      config.kernel.initrd,
      "-append",
      config.kernel.append,
    );
  }
  if (config.network !== false) {
    const n = config.network ?? {};
    const forward = n.sshPort !== undefined ? `,hostfwd=tcp:127.0.0.1:${n.sshPort}-:22` : "";
    const tftp = n.tftp !== undefined ? `,tftp=${optionValue(n.tftp)}` : "";
    const bootfile = n.bootfile !== undefined ? `,bootfile=${optionValue(n.bootfile)}` : "";
    argv.push("-nic", `user,model=virtio-net-pci${forward}${tftp}${bootfile}`);
  }
  if (config.pxe) argv.push("-boot", "order=n");
  argv.push("-device", "virtio-rng-pci");
  argv.push(...serialArgs(config.serial));
  if (config.monitor !== undefined) {
    argv.push("-monitor", `unix:${optionValue(config.monitor)},server=on,wait=off`);
  }
  argv.push(...(config.extraArgs ?? []));
  return argv;
}
