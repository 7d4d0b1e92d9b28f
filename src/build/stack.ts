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

export interface MountedStack {
  /** The stacked root, as a path inside the namespace. */
  root: string;
  unmount(): Promise<void>;
}

export type Upper = { upper: string; work: string } | "tmpfs" | "none";

/** Mounts `modules` (bottom first) under `dir`; unmounts what it mounted if anything fails. */
export async function mountStack(
  ns: Namespace,
  modules: readonly string[],
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
    await run("mount", ["-t", "overlay", "-o", options.join(","), "strata", merged], { ns });
    mounted.push(merged);
    return { root: merged, unmount };
  } catch (e) {
    await unmount();
    throw e;
  }
}
