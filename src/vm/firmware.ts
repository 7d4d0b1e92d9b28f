/**
 * UEFI firmware for booting images: OVMF for amd64, AAVMF for arm64 (the FIRMWARE table in
 * host/tools.ts). The code file is used read-only in place; the vars file (the firmware's
 * NVRAM, where boot entries are written) is copied for every boot, so boots never share or
 * change the host's template.
 */
import { constants, copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { StrataError } from "../errors.js";
import { FIRMWARE } from "../host/tools.js";
import type { VmArch } from "./argv.js";

export interface FirmwareFiles {
  code: string;
  vars: string;
  package: string;
}

/** Where firmware may be installed, per architecture (FIRMWARE, or another table in tests). */
export type FirmwareTable = Record<
  VmArch,
  { package: string; code: readonly string[]; vars: readonly string[] }
>;

/** The first installed code/vars pair for `arch`, or undefined. */
export function findFirmware(
  arch: VmArch,
  table: FirmwareTable = FIRMWARE,
): FirmwareFiles | undefined {
  const f = table[arch];
  const code = f.code.find((p) => existsSync(p));
  const vars = f.vars.find((p) => existsSync(p));
  return code && vars ? { code, vars, package: f.package } : undefined;
}

/** Like findFirmware, but a missing firmware is an E_TOOL_MISSING naming the package. */
export function requireFirmware(arch: VmArch, table: FirmwareTable = FIRMWARE): FirmwareFiles {
  const found = findFirmware(arch, table);
  if (found) return found;
  const f = table[arch];
  throw new StrataError(
    "E_TOOL_MISSING",
    `no UEFI firmware for ${arch}: none of ${[...f.code, ...f.vars].join(", ")} exists (package ${f.package})`,
    { hint: `apt-get install ${f.package}` },
  );
}

/** Finds the firmware and copies its vars file into `dir`; returns the paths QEMU gets. */
export function prepareFirmware(arch: VmArch, dir: string): { code: string; vars: string } {
  const found = requireFirmware(arch);
  const vars = join(dir, "efivars.fd");
  copyFileSync(found.vars, vars, constants.COPYFILE_FICLONE);
  return { code: found.code, vars };
}

/** `strata doctor`'s lines for UEFI firmware: OVMF is needed, AAVMF only for arm64 images. */
export function firmwareChecks(table: FirmwareTable = FIRMWARE): {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
  optional?: boolean;
}[] {
  return (["amd64", "arm64"] as const).map((arch) => {
    const found = findFirmware(arch, table);
    const pkg = table[arch].package;
    return {
      name: `firmware: ${pkg}`,
      ok: found !== undefined,
      detail: found
        ? `${found.code}, ${found.vars}`
        : `missing: boots ${arch} UEFI images (strata run, strata test)`,
      fix: found ? undefined : `apt-get install ${pkg}`,
      optional: arch === "arm64",
    };
  });
}
