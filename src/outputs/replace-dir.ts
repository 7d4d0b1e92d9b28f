/**
 * Puts a directory an output wrote in scratch space at its final path: the old one is renamed
 * aside first and removed after, so the final path always holds a whole directory (the old
 * one or the new one), never a half-written one.
 */
import { renameSync, rmSync } from "node:fs";

export function replaceDirectory(from: string, target: string): void {
  const old = `${target}.old-${process.pid}`;
  rmSync(old, { recursive: true, force: true });
  let moved = false;
  try {
    renameSync(target, old);
    moved = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  renameSync(from, target);
  if (moved) rmSync(old, { recursive: true, force: true });
}
