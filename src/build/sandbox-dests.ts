/**
 * bubblewrap creates the mount points it needs in the new root (/etc/resolv.conf,
 * /usr/sbin/policy-rc.d, /tmp...) before it enters it. It does so after moving the host's root
 * to /oldroot under a scratch tmpfs, so an absolute symlink in the layer leads into that
 * tmpfs, which is harmless, except through its /oldroot (the host) or /newroot (the root);
 * and a relative symlink with enough `..` climbs out of the root into that tmpfs too. A layer
 * with `/usr/sbin/policy-rc.d -> ../../../oldroot/etc/nologin` would so make bubblewrap create
 * a file on the host. Each mount point is therefore resolved here first, the way the kernel
 * will resolve it then, and a step whose root leads one out of itself does not run.
 */
import { lstatSync, readlinkSync, type Stats } from "node:fs";
import { StrataError } from "../errors.js";
import { MAX_SYMLINKS } from "../host/in-root.js";

const parts = (path: string) => path.split("/").filter((p) => p !== "" && p !== ".");

/** Where a path that left the root goes next: bubblewrap's scratch root, then `rest`. */
function reachesOut(rest: readonly string[]): boolean {
  const first = rest.find((p) => p !== "..");
  return first === "oldroot" || first === "newroot";
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/** Whether creating `dest` in the root `rootHost` (a host path) would touch a host path. */
export function leadsOutOfRoot(rootHost: string, dest: string): boolean {
  const done: string[] = [];
  const todo = parts(dest);
  let hops = 0;
  for (let name = todo.shift(); name !== undefined; name = todo.shift()) {
    if (name === "..") {
      if (done.length === 0) return reachesOut(todo);
      done.pop();
      continue;
    }
    const st = lstatOrUndefined(`${rootHost}/${[...done, name].join("/")}`);
    // What is missing is created where the walk is: inside the root.
    if (!st) return false;
    if (st.isSymbolicLink()) {
      if (++hops > MAX_SYMLINKS) return true;
      const target = readlinkSync(`${rootHost}/${[...done, name].join("/")}`);
      if (target.startsWith("/")) return reachesOut([...parts(target), ...todo]);
      todo.unshift(...parts(target));
      continue;
    }
    done.push(name);
  }
  return false;
}

/** Throws when a mount point of the sandbox leads out of the root. */
export function checkSandboxDests(rootHost: string, dests: readonly string[]): void {
  for (const dest of dests) {
    if (!leadsOutOfRoot(rootHost, dest)) continue;
    throw new StrataError(
      "E_LAYER_FILE",
      `${dest} in the layer's tree is a symlink that leads out of the tree`,
      {
        hint: "a layer may not replace the sandbox's mount points (/tmp, /run, /etc/resolv.conf, /usr/sbin/policy-rc.d, apt's cache directories) with symlinks out of its root",
      },
    );
  }
}
