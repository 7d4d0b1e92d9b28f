/**
 * Stacks squashfs modules into one root inside the build namespace: each module is loop-mounted
 * read-only and overlayfs puts them together, with an upper directory when the root must be
 * writable. The overlay is mounted so its upper directory is a self-contained diff that can be
 * stacked anywhere later: no redirects, no index, no metacopy.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Namespace } from "../host/namespace.js";
import { run } from "../host/run.js";

// uuid=off: no random uuid xattr on the upper directory, which would make equal layers differ.
export const OVERLAY_OPTIONS = "redirect_dir=off,index=off,metacopy=off,xino=off,uuid=off";

/**
 * Mounted without CAP_DAC_READ_SEARCH, overlayfs cannot encode file handles, so a copied-up
 * file's `trusted.overlay.origin` is empty instead of the lower file's handle (its inode
 * number, random for a directory lower): equal layers stay equal whatever they were built on.
 */
export const NO_FILE_HANDLES = ["--bounding-set", "-dac_read_search", "--"];

export interface MountedStack {
  /** The stacked root, as a path inside the namespace. */
  root: string;
  unmount(): Promise<void>;
}

export type Upper = { upper: string; work: string } | "tmpfs" | "none";

/**
 * A lower layer: a squashfs module, or a directory holding a layer's own changes (a layer
 * built in this run whose module is still being packed; overlayfs reads its whiteouts and
 * opaque directories as it would the module's).
 */
export type Lower = string | { dir: string };

/** Mounts `modules` (bottom first) under `dir`; unmounts what it mounted if anything fails. */
export async function mountStack(
  ns: Namespace,
  modules: readonly Lower[],
  dir: string,
  upper: Upper,
): Promise<MountedStack> {
  const mounted: string[] = [];
  const unmount = async () => {
    for (const m of mounted.reverse()) await run("umount", [m], { ns, reject: false });
    mounted.length = 0;
  };
  try {
    const lowers: string[] = [];
    for (const [i, module] of modules.entries()) {
      if (typeof module !== "string") {
        lowers.unshift(module.dir);
        continue;
      }
      const at = join(dir, "lower", String(i + 1).padStart(2, "0"));
      mkdirSync(at, { recursive: true });
      await run("mount", ["-t", "squashfs", "-o", "loop,ro", module, at], { ns });
      mounted.push(at);
      lowers.unshift(at);
    }
    if (upper === "none" && lowers.length === 1) return { root: lowers[0] as string, unmount };

    let up: { upper: string; work: string } | undefined;
    if (upper === "tmpfs") {
      const t = join(dir, "tmpfs");
      mkdirSync(t, { recursive: true });
      await run("mount", ["-t", "tmpfs", "-o", "mode=0755", "strata-upper", t], { ns });
      mounted.push(t);
      await run("mkdir", ["-p", `${t}/upper`, `${t}/work`], { ns });
      up = { upper: `${t}/upper`, work: `${t}/work` };
    } else if (upper !== "none") {
      mkdirSync(upper.upper, { recursive: true });
      mkdirSync(upper.work, { recursive: true });
      up = upper;
    }
    const merged = join(dir, "merged");
    mkdirSync(merged, { recursive: true });
    const options = [`lowerdir=${lowers.join(":")}`];
    if (up) options.push(`upperdir=${up.upper}`, `workdir=${up.work}`);
    options.push(OVERLAY_OPTIONS);
    await run(
      "setpriv",
      [...NO_FILE_HANDLES, "mount", "-t", "overlay", "-o", options.join(","), "strata", merged],
      { ns },
    );
    mounted.push(merged);
    return { root: merged, unmount };
  } catch (e) {
    await unmount();
    throw e;
  }
}
