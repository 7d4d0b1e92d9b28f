/**
 * `strata doctor`: every host tool and kernel feature strata uses, whether it is there, and
 * the Debian package that brings what is missing.
 */
import { existsSync } from "node:fs";
import { hostMirrors } from "../host/mirror.js";
import { KERNEL_FEATURES, TOOLS, which } from "../host/tools.js";
import { chooseAccel, hostVmArch } from "../vm/accel.js";
import { QEMU_BINARY } from "../vm/argv.js";
import { firmwareChecks } from "../vm/firmware.js";

export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** What fixes it (an apt-get line, a modprobe). */
  fix?: string;
  /** Needed only for some recipes (foreign architectures). */
  optional?: boolean;
}

export interface DoctorReport {
  ok: boolean;
  checks: DoctorCheck[];
}

const OPTIONAL = new Set([
  "qemu-aarch64-static",
  "qemu-arm-static",
  "mkfs.btrfs",
  "qemu-system-aarch64",
]);

export async function doctor(): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [];
  checks.push({
    name: "root",
    ok: process.getuid?.() === 0,
    detail: "builds mount filesystems and create device nodes",
    fix: "run strata as root",
  });
  for (const tool of Object.values(TOOLS)) {
    const path = which(tool.command);
    checks.push({
      name: tool.command,
      ok: path !== undefined,
      detail: path ?? `missing: ${tool.why}`,
      fix: path ? undefined : `apt-get install ${tool.package}`,
      optional: OPTIONAL.has(tool.command),
    });
  }
  const keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
  checks.push({
    name: "debian-archive-keyring",
    ok: existsSync(keyring),
    detail: existsSync(keyring) ? keyring : "missing: verifies the mirror's signatures",
    fix: "apt-get install debian-archive-keyring",
  });
  checks.push(...firmwareChecks());
  checks.push(...(await accelCheck()));
  for (const f of KERNEL_FEATURES) {
    const ok = f.ok();
    checks.push({
      name: `kernel: ${f.name}`,
      ok,
      detail: ok ? "available" : "missing",
      fix: ok ? undefined : f.hint,
    });
  }
  try {
    const m = await hostMirrors();
    checks.push({
      name: "default mirror",
      ok: true,
      detail: `${m.mirror}${m.security ? ` (security: ${m.security})` : ""}`,
    });
  } catch (e) {
    checks.push({
      name: "default mirror",
      ok: false,
      detail: (e as Error).message,
      fix: "add a Debian mirror to /etc/apt/sources.list, or use distro.mirror / --mirror",
    });
  }
  return { ok: checks.every((c) => c.ok || c.optional), checks };
}

/** KVM or TCG for the host's own architecture (runs the KVM probe), when QEMU is installed. */
async function accelCheck(): Promise<DoctorCheck[]> {
  const arch = hostVmArch();
  if (!arch || !which(QEMU_BINARY[arch])) return [];
  try {
    const a = await chooseAccel(arch);
    return [{ name: "accelerator", ok: true, detail: `${a.accel}: ${a.reason}` }];
  } catch (e) {
    const hint = (e as { hint?: string }).hint;
    return [{ name: "accelerator", ok: false, detail: (e as Error).message, fix: hint }];
  }
}
