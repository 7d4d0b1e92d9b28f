/**
 * The kernel command line of a disk's version: how the initramfs finds its root (the strata
 * boot script and the store's label, or a flat root's label) and the kernel's consoles.
 */
import { ROOT_LABEL, STORE_LABEL } from "./boot-layer.js";
import type { DiskOutput } from "./schema.js";

/** The version a freshly built disk holds. */
export const FIRST_VERSION = 1;

/** The kernel consoles of a disk: the last one is /dev/console, where systemd logs. */
export function consoles(d: Pick<DiskOutput, "console">, arch: string): string[] {
  return d.console ?? ["tty0", arch === "arm64" ? "ttyAMA0,115200" : "ttyS0,115200"];
}

/** The kernel command line of version `version` of a disk. */
export function kernelCmdline(
  d: Pick<DiskOutput, "root" | "console" | "cmdline">,
  arch: string,
  version = FIRST_VERSION,
  updates = false,
): string {
  const root =
    d.root === "flat"
      ? [`root=LABEL=${ROOT_LABEL}`, "rw"]
      : [
          "boot=strata",
          `strata.version=${version}`,
          `strata.root=${d.root}`,
          `strata.store=LABEL=${STORE_LABEL}`,
        ];
  const cons = consoles(d, arch).map((c) => `console=${c}`);
  // A version on trial must count down when it cannot boot: a kernel panic (an initramfs that
  // finds no root) reboots after 10 s instead of waiting at a shell.
  const panic = updates && d.root !== "flat" ? ["panic=10"] : [];
  return [...root, ...panic, ...cons, d.cmdline].filter((x) => x !== "").join(" ");
}
