/**
 * The first layer of a stack: mmdebstrap builds a Debian root in a directory, inside the
 * build's private namespace (so its /proc and /dev mounts never reach the host). The host's apt
 * package cache and the shared package lists are bind-mounted in, so nothing already
 * downloaded is downloaded again. The host's resolv.conf and hostname, which mmdebstrap copies
 * in, are removed: they would make the layer depend on the build machine.
 *
 * mmdebstrap itself runs as root (it mounts /proc and /sys into the new root and makes its
 * device nodes), but no package script it runs keeps that power:
 * - the build namespace's network reaches only the mirrors (host/mirror-proxy.ts), which
 *   mmdebstrap's apt is pointed at with http_proxy;
 * - the essential packages are installed through `chroot ROOT dpkg ...`: a `chroot` first in
 *   mmdebstrap's PATH runs that command in the same bubblewrap sandbox as a recipe's steps
 *   (no network at all, reduced capabilities, read-only kernel settings and package cache);
 * - the other packages are installed by apt from outside, which enters the root itself
 *   (DPkg::Chroot-Directory) and runs dpkg there: a DPkg::Options prefix runs dpkg under
 *   util-linux's setpriv with the steps' capability bounding set, and /proc/sys is made
 *   read-only in the root for that time (an essential hook), as root without capabilities can
 *   still write kernel settings.
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { StrataError } from "../errors.js";
import type { Namespace } from "../host/namespace.js";
import { run } from "../host/run.js";
import type { DebianBootstrap } from "../recipe/schema.js";
import { q } from "../host/shell.js";
import { type Settings, sourcesLines } from "./context.js";
import { NO_INITRAMFS, STEP_CAPABILITIES, sandboxArgv, sandboxEnv } from "./sandbox.js";

/** Marks the DPkg::Options line strata adds, so the finished root loses it again. */
const SETPRIV_MARK = "strata-sandbox";

/** The steps' capability set as a setpriv --bounding-set argument. */
export function boundingSet(): string {
  return ["-all", ...STEP_CAPABILITIES.map((c) => `+${c.slice(4).toLowerCase()}`)].join(",");
}

/** Parts of /proc that stay read-only in the root while apt installs into it. */
const PROC_READ_ONLY = ["sys", "sysrq-trigger"];

export function mmdebstrapArgs(
  settings: Settings,
  bootstrap: DebianBootstrap,
  root: string,
): string[] {
  const d = settings.distro;
  const procs = PROC_READ_ONLY.join(" ");
  // Each is a read-only bind of itself; a kernel without sysrq has no /proc/sysrq-trigger.
  const procRo = `for p in ${procs}; do if [ -e "$1/proc/$p" ]; then mount --bind "$1/proc/$p" "$1/proc/$p" && mount -o remount,bind,ro "$1/proc/$p" || exit 1; fi; done`;
  const procUndo = `for p in ${procs}; do if mountpoint -q "$1/proc/$p"; then umount "$1/proc/$p"; fi; done`;
  const dpkgPrefix = ["-u", "TMPDIR", "setpriv", `--bounding-set=${boundingSet()}`, "--", "env"]
    .map((a) => `"${a}";`)
    .join(" ");
  const args = [
    "--mode=root",
    `--variant=${bootstrap.variant}`,
    `--architectures=${d.arch}`,
    "--skip=download/empty",
    `--setup-hook=mkdir -p "$1/var/cache/apt/archives" "$1/var/lib/apt/lists" && mount --bind ${q(settings.aptArchives)} "$1/var/cache/apt/archives" && mount --bind ${q(settings.aptLists)} "$1/var/lib/apt/lists"`,
    `--essential-hook=${procRo}`,
    // mmdebstrap adds "--unset=TMPDIR dpkg" after these, with Dir::Bin::dpkg=env.
    `--aptopt=DPkg::Options { ${dpkgPrefix} }; // ${SETPRIV_MARK}`,
    `--customize-hook=${procUndo}; umount "$1/var/cache/apt/archives" "$1/var/lib/apt/lists"`,
    `--customize-hook=sed -i '/${SETPRIV_MARK}/d' "$1/etc/apt/apt.conf.d/99mmdebstrap"`,
    `--customize-hook=rm -f "$1/etc/resolv.conf" "$1/etc/hostname"`,
  ];
  if (!d.recommends) args.push('--aptopt=APT::Install-Recommends "false"');
  if (bootstrap.packages.length > 0) args.push(`--include=${bootstrap.packages.join(",")}`);
  args.push(d.suite, root, ...sourcesLines(d));
  return args;
}

/**
 * Writes the `chroot` that mmdebstrap finds first in its PATH: `chroot ROOT CMD...` runs CMD
 * in the steps' sandbox over ROOT, with no network. Returns the directory to put in PATH.
 */
export function writeChrootWrapper(dir: string, settings: Settings, stage: string): string {
  const bin = join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  const ROOT = "\0root";
  const argv = sandboxArgv(
    { root: ROOT, aptArchives: settings.aptArchives, aptLists: settings.aptLists, stage },
    ["\0cmd"],
    { env: sandboxEnv(settings.epoch), network: "none", aptWritable: false, bare: true },
  );
  const words = argv.map((a) => (a === ROOT ? '"$root"' : a === "\0cmd" ? '"$@"' : q(a)));
  writeFileSync(
    join(bin, "chroot"),
    `#!/bin/sh\n# strata: package scripts that mmdebstrap runs with chroot run in the build sandbox\nroot=$1\nshift\nexec ${words.join(" ")}\n`,
  );
  chmodSync(join(bin, "chroot"), 0o755);
  return bin;
}

export async function bootstrapRoot(
  settings: Settings,
  ns: Namespace,
  bootstrap: DebianBootstrap,
  root: string,
  work: { dir: string; stage: string; proxy: string },
  label: string,
  onLine: (line: string) => void,
): Promise<void> {
  const args = mmdebstrapArgs(settings, bootstrap, root);
  const wrapper = writeChrootWrapper(work.dir, settings, work.stage);
  const result = await run("mmdebstrap", args, {
    ns,
    env: {
      SOURCE_DATE_EPOCH: String(settings.epoch),
      ...NO_INITRAMFS,
      PATH: `${wrapper}:${process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin"}`,
      http_proxy: work.proxy,
      https_proxy: work.proxy,
    },
    onLine,
    reject: false,
  });
  if (result.exitCode !== 0) {
    const errors = result.output
      .split("\n")
      .filter(
        (l) =>
          /^(E:|W: Unable|mmdebstrap: error)/.test(l) ||
          /Unable to locate|has no installation candidate/.test(l),
      );
    throw new StrataError(
      "E_BOOTSTRAP_FAILED",
      `${label}: mmdebstrap failed (exit ${result.exitCode})\n${(errors.length ? errors : result.output.trimEnd().split("\n").slice(-20)).join("\n")}`,
      { hint: "check the suite, architecture, mirror and package names of the bootstrap layer" },
    );
  }
}
