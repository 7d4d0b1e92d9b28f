/**
 * Rootful podman for tests, kept off the host: its storage, run and temporary directories are
 * under the test's own directory, and each command runs in a private mount and PID namespace
 * (unshare), so whatever it mounts (its overlay store, a container's root) and whatever it
 * leaves running (conmon, the cleanup process) ends with the command. In that namespace /run
 * and /var/lib/containers (crun's state; containers/image's blob cache, which podman load
 * writes even with --root) are fresh tmpfs, and
 * the cgroup v2 mount of a hybrid host is dropped (crun refuses hybrid hierarchies).
 * Containers get no cgroups, no network, and limits no higher than the host's (this root may
 * lack CAP_SYS_RESOURCE, and podman's defaults raise them).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export const PODMAN_SKIP =
  existsSync("/usr/bin/podman") && existsSync("/usr/bin/skopeo")
    ? false
    : "needs podman and skopeo (apt-get install podman skopeo)";

/** Flags for `podman run` that work without cgroups, network or CAP_SYS_RESOURCE. */
export const RUN_FLAGS = [
  "--rm",
  "--network",
  "none",
  "--cgroups",
  "disabled",
  "--ulimit",
  "nofile=1024:1024",
  "--ulimit",
  "nproc=1024:1024",
];

const PREPARE = [
  "set -e",
  "! grep -q ' /sys/fs/cgroup/unified ' /proc/self/mountinfo || umount /sys/fs/cgroup/unified",
  "mount -t tmpfs strata-test /run",
  // Without /var/lib/containers, all of /var/lib: podman needs none of it, and makes nothing there.
  "if [ -d /var/lib/containers ]; then v=/var/lib/containers; else v=/var/lib; fi",
  'mount -t tmpfs strata-test "$v"',
  'exec "$@"',
].join("\n");

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `command` in a fresh private namespace prepared for podman (see above). */
function isolated(command: string[]): CommandResult {
  const r = spawnSync(
    "unshare",
    ["--mount", "--propagation", "private", "--fork", "--pid", "--mount-proc", "--"].concat([
      "sh",
      "-c",
      PREPARE,
      "sh",
      ...command,
    ]),
    { encoding: "utf8", maxBuffer: 64 << 20 },
  );
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** podman with its state under `dir`; `skopeo` beside it for what podman does not show. */
export function podmanIn(dir: string) {
  const global = [
    "--root",
    join(dir, "root"),
    "--runroot",
    join(dir, "runroot"),
    "--tmpdir",
    join(dir, "tmp"),
    "--storage-driver",
    "overlay",
    "--cgroup-manager",
    "cgroupfs",
    "--events-backend",
    "file",
  ];
  return {
    podman: (...args: string[]) => isolated(["podman", ...global, ...args]),
    skopeo: (...args: string[]) => isolated(["skopeo", ...args]),
    /** Removes every image and container and the storage itself. */
    reset: () => isolated(["podman", ...global, "system", "reset", "--force"]),
  };
}
