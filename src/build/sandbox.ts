/**
 * The isolated root a build step runs in: bubblewrap over the layer's root (the overlayfs of
 * the layers below plus a fresh upper directory, or the bootstrap directory), with its own
 * /proc, /dev, a read-only /sys, private /tmp and /run, the host's DNS configuration, apt's
 * shared package cache and lists, and a policy-rc.d that keeps services from starting.
 */

export interface SandboxMounts {
  /** The root directory, as seen inside the build namespace. */
  root: string;
  aptArchives: string;
  aptLists: string;
  /** Host directory with the step's inputs (copy sources, scripts), visible at /run/strata. */
  stage: string;
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

export function sandboxArgv(
  m: SandboxMounts,
  command: readonly string[],
  options: { env: Record<string, string>; interactive?: boolean },
): string[] {
  const argv = [
    "bwrap",
    "--bind",
    m.root,
    "/",
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--ro-bind",
    "/sys",
    "/sys",
    "--tmpfs",
    "/tmp",
    "--tmpfs",
    "/run",
    "--ro-bind",
    m.stage,
    STAGE_IN_ROOT,
    "--bind",
    m.aptArchives,
    "/var/cache/apt/archives",
    "--bind",
    m.aptLists,
    "/var/lib/apt/lists",
    "--ro-bind",
    "/etc/resolv.conf",
    "/etc/resolv.conf",
    "--ro-bind",
    `${m.stage}/policy-rc.d`,
    "/usr/sbin/policy-rc.d",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--hostname",
    "localhost",
    "--die-with-parent",
    "--clearenv",
  ];
  if (!options.interactive) argv.push("--new-session");
  for (const [k, v] of Object.entries(options.env)) argv.push("--setenv", k, v);
  argv.push("--chdir", "/", "--", ...command);
  return argv;
}

export const POLICY_RC_D =
  "#!/bin/sh\n# strata: no service starts while an image is built\nexit 101\n";
