/**
 * KVM or TCG. A /dev/kvm that exists is not proof that KVM works: under some nested
 * hypervisors QEMU starts but the guest hangs, or stops with "KVM internal error". So unless
 * STRATA_ACCEL (kvm | tcg | auto) forces the choice, a short probe boots the firmware itself
 * under KVM (OVMF/AAVMF with the serial port on a pipe; SeaBIOS with its debug port when there
 * is no UEFI firmware) and requires it to print within a few seconds; otherwise QEMU is killed
 * by PID and TCG is used. The probe runs once per process and architecture. A guest of another
 * architecture than the host's is always emulated (TCG).
 */
import { accessSync, constants, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StrataError } from "../errors.js";
import { type Accel, qemuArgv, type VmArch, type VmConfig } from "./argv.js";
import { findFirmware, prepareFirmware } from "./firmware.js";
import { startQemu } from "./qemu-process.js";

export type AccelSetting = Accel | "auto";

export interface AccelChoice {
  accel: Accel;
  /** Why, in a few words (shown by `strata run`, `strata test` and `strata doctor`). */
  reason: string;
}

export const PROBE_TIMEOUT_MS = 5000;

/** STRATA_ACCEL's value: kvm, tcg, or auto (also when unset or empty). */
export function parseAccelSetting(value: string | undefined): AccelSetting {
  const v = (value ?? "").trim().toLowerCase();
  if (v === "" || v === "auto") return "auto";
  if (v === "kvm" || v === "tcg") return v;
  throw new StrataError("E_USAGE", `STRATA_ACCEL=${value} is not kvm, tcg or auto`, {
    hint: "unset STRATA_ACCEL to let strata probe KVM, or set it to kvm or tcg",
  });
}

export function hostVmArch(): VmArch | undefined {
  return process.arch === "x64" ? "amd64" : process.arch === "arm64" ? "arm64" : undefined;
}

/** Why /dev/kvm cannot be used, or undefined when it can be opened read-write. */
export function kvmDeviceProblem(device = "/dev/kvm"): string | undefined {
  if (!existsSync(device)) return `${device} does not exist`;
  try {
    accessSync(device, constants.R_OK | constants.W_OK);
    return undefined;
  } catch {
    return `${device} is not accessible (add the user to group kvm)`;
  }
}

/**
 * The choice that needs no probe, or undefined when the probe must decide. Pure: the host's
 * architecture and the state of /dev/kvm are arguments.
 */
export function presetAccel(
  arch: VmArch,
  setting: AccelSetting,
  host: VmArch | undefined,
  kvmProblem: string | undefined,
): AccelChoice | undefined {
  if (setting === "tcg") return { accel: "tcg", reason: "STRATA_ACCEL=tcg" };
  if (arch !== host) {
    if (setting === "kvm") {
      throw new StrataError(
        "E_USAGE",
        `STRATA_ACCEL=kvm, but KVM cannot run an ${arch} guest on a ${host ?? process.arch} host`,
        { hint: "unset STRATA_ACCEL or set it to tcg" },
      );
    }
    return { accel: "tcg", reason: `${arch} guest on a ${host ?? process.arch} host` };
  }
  if (setting === "kvm") return { accel: "kvm", reason: "STRATA_ACCEL=kvm" };
  if (kvmProblem) return { accel: "tcg", reason: kvmProblem };
  return undefined;
}

const probes = new Map<VmArch, Promise<AccelChoice>>();

/** KVM when it works for `arch` (probed once per process), else TCG; STRATA_ACCEL decides first. */
export async function chooseAccel(
  arch: VmArch,
  env: NodeJS.ProcessEnv = process.env,
): Promise<AccelChoice> {
  const preset = presetAccel(
    arch,
    parseAccelSetting(env.STRATA_ACCEL),
    hostVmArch(),
    kvmDeviceProblem(),
  );
  if (preset) return preset;
  let probe = probes.get(arch);
  if (!probe) {
    probe = probeKvm(arch);
    probes.set(arch, probe);
  }
  return probe;
}

const stripEscapes = (s: string) => s.replace(/\x1b\[[0-9;?=]*[A-Za-z]/g, "");

/** Boots the firmware under KVM and waits up to `timeoutMs` for it to print. Never throws. */
export async function probeKvm(arch: VmArch, timeoutMs = PROBE_TIMEOUT_MS): Promise<AccelChoice> {
  const dir = mkdtempSync(join(tmpdir(), "strata-kvm-probe-"));
  try {
    const base = {
      arch,
      accel: "kvm" as const,
      memoryMiB: 256,
      cpus: 1,
      network: false as const,
      name: "strata-kvm-probe",
    };
    let config: VmConfig;
    let printed: RegExp;
    if (findFirmware(arch)) {
      config = {
        ...base,
        boot: "uefi",
        firmware: prepareFirmware(arch, dir),
        serial: { kind: "pipe" },
      };
      printed = /[A-Za-z]{3}/;
    } else if (arch === "amd64") {
      // SeaBIOS says nothing on the serial port, but reports on its debug port (0x402).
      config = {
        ...base,
        boot: "bios",
        serial: { kind: "none" },
        extraArgs: ["-chardev", "stdio,id=dbg", "-device", "isa-debugcon,iobase=0x402,chardev=dbg"],
      };
      printed = /Booting from|No bootable device/;
    } else {
      return { accel: "tcg", reason: `no ${arch} UEFI firmware to probe KVM with` };
    }
    return await runProbe(qemuArgv(config), printed, timeoutMs, dir);
  } catch (e) {
    return { accel: "tcg", reason: `KVM probe failed: ${(e as Error).message}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runProbe(
  argv: string[],
  printed: RegExp,
  timeoutMs: number,
  dir: string,
): Promise<AccelChoice> {
  const started = Date.now();
  const qemu = startQemu(argv, ["ignore", "pipe", "pipe"], [dir]);
  try {
    return await new Promise<AccelChoice>((resolve) => {
      let out = "";
      const fail = (why: string) => resolve({ accel: "tcg", reason: `KVM does not work: ${why}` });
      const timer = setTimeout(
        () => fail(`the firmware printed nothing within ${timeoutMs / 1000} s`),
        timeoutMs,
      );
      qemu.stdout?.on("data", (chunk: Buffer) => {
        out += chunk.toString("utf8");
        if (printed.test(stripEscapes(out))) {
          clearTimeout(timer);
          const s = ((Date.now() - started) / 1000).toFixed(1);
          resolve({ accel: "kvm", reason: `KVM probe: firmware started in ${s} s` });
        }
      });
      qemu.stderr?.on("data", () => {
        if (/KVM internal error|emulation failure/.test(qemu.stderrText())) {
          clearTimeout(timer);
          fail("KVM internal error");
        }
      });
      void qemu.exited.then((r) => {
        clearTimeout(timer);
        const err = qemu.stderrTail(1).trim();
        fail(`qemu -accel kvm exited with code ${r.code}${err ? `: ${err}` : ""}`);
      });
    });
  } finally {
    await qemu.kill();
    qemu.release();
  }
}
