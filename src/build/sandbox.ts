/**
 * The isolated root a build step runs in: bubblewrap over the layer's root (the overlayfs of
 * the layers below plus a fresh upper directory, or the bootstrap directory), with its own
 * /proc (kernel settings read-only), /dev, a read-only /sys, private /tmp and /run, the host's
 * DNS configuration, apt's shared package cache and lists (writable for package steps only),
 * a policy-rc.d that keeps services from starting, its own PID, IPC, UTS and cgroup
 * namespaces, a reduced capability set, and no network unless the step is given one.
 *
 * strata runs as root, so bubblewrap does too and would keep every capability: the explicit
 * set below is what keeps a step (or any package's maintainer script) from mounting a host
 * disk, loading a module or changing the host's kernel settings. A user namespace would add
 * little on top (the root's files must stay owned by the real root ids, so the mapping would
 * be the identity) and costs a second mapping of every path, so there is none.
 */

import { APT_CONTROL_IN_ROOT } from "./apt-hook.js";

export interface SandboxMounts {
  /** The root directory, as seen inside the build namespace. */
  root: string;
  aptArchives: string;
  aptLists: string;
  /** Host directory with the step's inputs (copy sources, scripts), visible at /run/strata. */
  stage: string;
  /** strata's apt commands only: the pre-install check's directory (build/apt-hook.ts). */
  aptControl?: string;
}

export const STAGE_IN_ROOT = "/run/strata";

/**
 * Mount points bubblewrap creates in the root when they are missing. They are removed from the
 * layer afterwards unless the layer below already had them.
 */
export const PLACEHOLDERS = ["/etc/resolv.conf", "/usr/sbin/policy-rc.d"];

/**
 * Kernel packages install without an initramfs (their hook honours INITRD=No): the boot layer
 * of a disk output makes the one it boots, with strata's boot script in it, so one made in an
 * earlier layer would only cost build time (minutes under qemu-user) and ~40 MB per module.
 */
export const NO_INITRAMFS = { INITRD: "No" } as const;

export function sandboxEnv(
  epoch: number,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: "/root",
    LC_ALL: "C.UTF-8",
    LANG: "C.UTF-8",
    DEBIAN_FRONTEND: "noninteractive",
    DEBCONF_NONINTERACTIVE_SEEN: "true",
    SOURCE_DATE_EPOCH: String(epoch),
    TERM: process.env.TERM ?? "xterm",
    ...NO_INITRAMFS,
    ...extra,
  };
}

/**
 * The capabilities a step keeps: what apt, dpkg and maintainer scripts need to own, chmod and
 * chroot files and switch users (a container runtime's default set, less CAP_MKNOD and
 * CAP_NET_RAW). Everything that reaches past the root is gone: CAP_SYS_ADMIN (mount, and so
 * any device node made before), CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_SYS_PTRACE, CAP_NET_ADMIN,
 * CAP_DAC_READ_SEARCH (open_by_handle_at reaches files outside the root), CAP_SYS_BOOT, ...
 */
export const STEP_CAPABILITIES = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_SETFCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_AUDIT_WRITE",
] as const;

/** Parts of /proc that change the running kernel: read-only inside the sandbox. */
const PROC_READ_ONLY = ["/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"];

/**
 * Where a step's network goes: `none` (an empty namespace: `run` steps), `mirrors` (the build
 * namespace, whose only way out is strata's mirror proxy: package steps), `host` (the host's
 * network: a `run` step with `network: true`; the caller enters the build namespace without
 * its network).
 */
export type StepNetwork = "none" | "mirrors" | "host";

export interface SandboxOptions {
  env: Record<string, string>;
  interactive?: boolean;
  network: StepNetwork;
  /** apt's package cache and lists writable (strata's own package steps only). */
  aptWritable: boolean;
  /**
   * For mmdebstrap's package scripts: the environment as mmdebstrap set it, the root's own
   * /tmp and /run, and none of strata's step files (no /run/strata, policy-rc.d, resolv.conf).
   */
  bare?: boolean;
}

export function sandboxArgv(
  m: SandboxMounts,
  command: readonly string[],
  options: SandboxOptions,
): string[] {
  const apt = options.aptWritable ? "--bind" : "--ro-bind";
  // bwrap's --bind mounts are nodev and nosuid: a device node made in the root opens nothing.
  const argv = ["bwrap", "--bind", m.root, "/", "--proc", "/proc"];
  for (const p of PROC_READ_ONLY) argv.push("--ro-bind-try", p, p);
  argv.push("--dev", "/dev", "--ro-bind", "/sys", "/sys");
  // mmdebstrap's package scripts make the root's own /run and /tmp (base-files' /run/lock).
  if (!options.bare) argv.push("--tmpfs", "/tmp", "--tmpfs", "/run");
  argv.push(apt, m.aptArchives, "/var/cache/apt/archives", apt, m.aptLists, "/var/lib/apt/lists");
  if (!options.bare) {
    argv.push("--ro-bind", m.stage, STAGE_IN_ROOT);
    // Without a network there is no name to resolve.
    if (options.network !== "none") argv.push("--ro-bind", "/etc/resolv.conf", "/etc/resolv.conf");
    argv.push("--ro-bind", `${m.stage}/policy-rc.d`, "/usr/sbin/policy-rc.d");
  }
  if (m.aptControl) argv.push("--bind", m.aptControl, APT_CONTROL_IN_ROOT);
  argv.push("--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try");
  argv.push("--hostname", "localhost", "--cap-drop", "ALL");
  for (const cap of STEP_CAPABILITIES) argv.push("--cap-add", cap);
  if (options.network === "none") argv.push("--unshare-net");
  argv.push("--die-with-parent");
  if (!options.interactive) argv.push("--new-session");
  if (!options.bare) {
    argv.push("--clearenv");
    for (const [k, v] of Object.entries(options.env)) argv.push("--setenv", k, v);
  }
  argv.push("--chdir", "/", "--", ...command);
  return argv;
}

/** The mount points sandboxArgv makes in the root (see sandbox-dests.ts). */
export const SANDBOX_DESTS = [
  "/proc",
  "/dev",
  "/sys",
  "/tmp",
  "/run",
  "/var/cache/apt/archives",
  "/var/lib/apt/lists",
  "/etc/resolv.conf",
  "/usr/sbin/policy-rc.d",
] as const;

export const POLICY_RC_D =
  "#!/bin/sh\n# strata: no service starts while an image is built\nexit 101\n";
