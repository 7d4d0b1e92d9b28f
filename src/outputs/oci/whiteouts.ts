/**
 * From overlayfs's way of saying "deleted" and "replaced" to OCI's, in an unpacked layer.
 * A strata module is an overlayfs upper directory, so it says it overlayfs's way:
 *
 *   deleted NAME        a character device 0:0 named NAME     → an empty file `.wh.NAME`
 *   replaced directory  xattr trusted.overlay.opaque="y"      → an empty `.wh..wh..opq` in it
 *
 * (image-spec layer.md). The xattrs themselves are left to the tar step, which drops every
 * `trusted.overlay.*`: an OCI runtime would never read them, and some refuse trusted xattrs.
 * Opaque directories are found with getfattr (Node reads no xattrs), whose listing is parsed
 * here; the tree walk is Node's.
 */
import { type Stats, lstatSync, readdirSync, unlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { StrataError } from "../../errors.js";
import { OPAQUE_WHITEOUT, WHITEOUT_PREFIX } from "../../oci/media-types.js";
import { unescapeC } from "../../oci/whiteouts.js";

export const OPAQUE_XATTR = "trusted.overlay.opaque";

/** getfattr's arguments that list every opaque directory under `root` (never following links). */
export function opaqueListArgs(root: string): string[] {
  return [
    "-R",
    "-P",
    "-h",
    "--absolute-names",
    "-e",
    "text",
    "-m",
    `^trusted\\.overlay\\.opaque$`,
    "-d",
    root,
  ];
}

/**
 * The directories (relative to `root`, "" for the root itself) that getfattr's listing shows
 * as opaque. Only "y" is opaque: newer kernels also write "x" on a directory that merely holds
 * xattr whiteouts, and that directory still shows what is below it.
 */
export function parseOpaqueDirs(listing: string, root: string): string[] {
  const dirs: string[] = [];
  let file: string | undefined;
  for (const line of listing.split("\n")) {
    if (line.startsWith("# file: ")) file = unescapeC(line.slice("# file: ".length));
    else if (file !== undefined && line === `${OPAQUE_XATTR}="y"`) dirs.push(relative(root, file));
  }
  return dirs;
}

/** overlayfs's whiteout: a character device with device number 0:0. */
export function isOverlayWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

export const whiteoutName = (name: string): string => `${WHITEOUT_PREFIX}${name}`;

export interface Converted {
  whiteouts: number;
  opaque: number;
}

/**
 * Rewrites the unpacked layer at `root` in place: each overlayfs whiteout becomes an OCI
 * whiteout file, each of `opaqueDirs` gets an opaque marker. A name of the layer's own that
 * starts with `.wh.` is refused: every OCI runtime would take it for a whiteout.
 */
export function convertWhiteouts(root: string, opaqueDirs: readonly string[]): Converted {
  const done: Converted = { whiteouts: 0, opaque: 0 };
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.name.startsWith(WHITEOUT_PREFIX)) {
        throw new StrataError("E_OUTPUT", `/${relative(root, path)}: an OCI whiteout name`, {
          hint: `OCI runtimes read a file named ${WHITEOUT_PREFIX}* as a deletion: rename it in the recipe`,
        });
      }
      if (entry.isDirectory()) walk(path);
      else if (entry.isCharacterDevice() && isOverlayWhiteout(lstatSync(path))) {
        unlinkSync(path);
        writeFileSync(join(dir, whiteoutName(entry.name)), "", { mode: 0o644 });
        done.whiteouts++;
      }
    }
  };
  walk(root);
  for (const dir of opaqueDirs) {
    writeFileSync(join(root, dir, OPAQUE_WHITEOUT), "", { mode: 0o644 });
    done.opaque++;
  }
  return done;
}
