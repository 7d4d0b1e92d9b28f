/**
 * The kernel command line of a disk's version: how the initramfs finds its root (the strata
 * boot script and the store's label, or a flat root's label) and the kernel's consoles.
 */
import { ROOT_LABEL, STORE_LABEL } from "./boot-layer.js";
import { BOARD_INFO } from "./board.js";
import type { Board, DiskOutput } from "./schema.js";

/** The version a freshly built disk holds. */
export const FIRST_VERSION = 1;

/**
 * The kernel consoles of a disk: the last one is /dev/console, where systemd logs. A board's
 * serial console is its GPIO header's UART.
 */
export function consoles(
  d: Pick<DiskOutput, "console"> & { board?: Board },
  arch: string,
): string[] {
  const serial = d.board ? BOARD_INFO[d.board].console : arch === "arm64" ? "ttyAMA0" : "ttyS0";
  return d.console ?? ["tty0", `${serial},115200`];
}

/** The kernel command line of version `version` of a disk. */
export function kernelCmdline(
  d: Pick<DiskOutput, "root" | "console" | "cmdline" | "board">,
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
