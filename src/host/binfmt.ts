/**
 * Foreign-architecture builds: an arm64 or armhf root runs on an amd64 host through
 * qemu-user-static and binfmt_misc. strata mounts binfmt_misc and registers the interpreter
 * only when it is missing, says so, and undoes exactly what it did when the build ends.
 * The registration line comes from the qemu-user-static package itself (/usr/lib/binfmt.d).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { StrataError } from "../errors.js";
import type { Cleanups } from "./cleanups.js";
import { run } from "./run.js";

const BINFMT = "/proc/sys/fs/binfmt_misc";

/** Debian architecture → QEMU's name for it. */
export const QEMU_ARCH: Record<string, string> = {
  amd64: "x86_64",
  arm64: "aarch64",
  armhf: "arm",
  i386: "i386",
};

export function hostArch(): string {
  const map: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "armhf", ia32: "i386" };
  return map[process.arch] ?? process.arch;
}

export function isForeign(arch: string): boolean {
  if (arch === hostArch()) return false;
  // An arm64 CPU usually runs armhf code itself, as an amd64 CPU runs i386.
  return (
    !(hostArch() === "arm64" && arch === "armhf") && !(hostArch() === "amd64" && arch === "i386")
  );
}

/** Makes sure `arch` binaries run; registers what is missing and stacks the undo. */
export async function ensureBinfmt(arch: string, cleanups: Cleanups, log: (m: string) => void) {
  if (!isForeign(arch)) return;
  const qemu = QEMU_ARCH[arch];
  if (!qemu) throw new StrataError("E_BINFMT", `no emulator known for ${arch}`);
  if (!existsSync(`${BINFMT}/register`)) {
    await run("mount", ["-t", "binfmt_misc", "binfmt_misc", BINFMT]);
    log(`mounted binfmt_misc at ${BINFMT}`);
    cleanups.push(`unmount ${BINFMT}`, async () => {
      await run("umount", [BINFMT], { reject: false });
    });
  }
  const entry = `${BINFMT}/qemu-${qemu}`;
  if (existsSync(entry)) {
    if (readFileSync(entry, "utf8").startsWith("enabled")) return;
    throw new StrataError("E_BINFMT", `binfmt_misc entry qemu-${qemu} is disabled`, {
      hint: `echo 1 > ${entry}`,
    });
  }
  const conf = `/usr/lib/binfmt.d/qemu-${qemu}.conf`;
  if (!existsSync(conf)) {
    throw new StrataError(
      "E_TOOL_MISSING",
      `building for ${arch} needs qemu-user-static (${conf})`,
      {
        hint: "apt-get install qemu-user-static",
      },
    );
  }
  const line = readFileSync(conf, "utf8")
    .split("\n")
    .find((l) => l.startsWith(":"));
  if (!line) throw new StrataError("E_BINFMT", `${conf} holds no registration line`);
  // F: the interpreter is opened now, so it works inside the build root too.
  const fixed = line.replace(
    /:([A-Z]*)$/,
    (_m, flags: string) => `:${flags.includes("F") ? flags : `${flags}F`}`,
  );
  writeFileSync(`${BINFMT}/register`, fixed);
  log(`registered qemu-${qemu} with binfmt_misc to run ${arch} binaries`);
  cleanups.push(`unregister qemu-${qemu}`, async () => {
    if (existsSync(entry)) writeFileSync(entry, "-1");
  });
}
