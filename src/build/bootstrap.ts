/**
 * The first layer of a stack: mmdebstrap builds a Debian root in a directory, inside the
 * build's private namespace (so its /proc and /dev mounts never reach the host). The host's apt
 * package cache and the shared package lists are bind-mounted in, so nothing already
 * downloaded is downloaded again. The host's resolv.conf and hostname, which mmdebstrap copies
 * in, are removed: they would make the layer depend on the build machine.
 */

import { StrataError } from "../errors.js";
import type { Namespace } from "../host/namespace.js";
import { run } from "../host/run.js";
import type { Layer } from "../recipe/schema.js";
import { q } from "../host/shell.js";
import { type Settings, sourcesLines } from "./context.js";
import { NO_INITRAMFS } from "./sandbox.js";

export function mmdebstrapArgs(
  settings: Settings,
  bootstrap: NonNullable<Layer["bootstrap"]>,
  root: string,
): string[] {
  const d = settings.distro;
  const args = [
    "--mode=root",
    `--variant=${bootstrap.variant}`,
    `--architectures=${d.arch}`,
    "--skip=download/empty",
    `--setup-hook=mkdir -p "$1/var/cache/apt/archives" "$1/var/lib/apt/lists" && mount --bind ${q(settings.aptArchives)} "$1/var/cache/apt/archives" && mount --bind ${q(settings.aptLists)} "$1/var/lib/apt/lists"`,
    `--customize-hook=umount "$1/var/cache/apt/archives" "$1/var/lib/apt/lists"`,
    `--customize-hook=rm -f "$1/etc/resolv.conf" "$1/etc/hostname"`,
  ];
  if (!d.recommends) args.push('--aptopt=APT::Install-Recommends "false"');
  if (bootstrap.packages.length > 0) args.push(`--include=${bootstrap.packages.join(",")}`);
  args.push(d.suite, root, ...sourcesLines(d));
  return args;
}

export async function bootstrapRoot(
  settings: Settings,
  ns: Namespace,
  bootstrap: NonNullable<Layer["bootstrap"]>,
  root: string,
  label: string,
  onLine: (line: string) => void,
): Promise<void> {
  const args = mmdebstrapArgs(settings, bootstrap, root);
  const result = await run("mmdebstrap", args, {
    ns,
    env: { SOURCE_DATE_EPOCH: String(settings.epoch), ...NO_INITRAMFS },
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
