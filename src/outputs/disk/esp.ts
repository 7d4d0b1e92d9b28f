/**
 * The EFI system partition, built as a FAT image file with mkfs.vfat and filled with mtools,
 * so nothing is mounted (the build host's kernel need not have vfat). It holds systemd-boot
 * (also at the removable-media path the firmware boots without NVRAM entries), its
 * loader.conf, and per version a kernel, an initramfs and a loader entry.
 */
import { run } from "../../host/run.js";

export interface EspFile {
  /** Host file to copy */
  from: string;
  /** Path on the ESP, e.g. /EFI/BOOT/BOOTX64.EFI */
  to: string;
}

export interface LoaderEntry {
  /** Entry file name without .conf, e.g. strata-1 */
  id: string;
  title: string;
  version: string;
  linux: string;
  initrd: string;
  options: string;
}

/** The removable-media boot path for each architecture's firmware. */
export const EFI_FALLBACK = { amd64: "BOOTX64.EFI", arm64: "BOOTAA64.EFI" } as const;
export const SYSTEMD_BOOT = {
  amd64: "systemd-bootx64.efi",
  arm64: "systemd-bootaa64.efi",
} as const;

/** loader.conf; `defaultEntry` is an entry id (`strata-1.conf`) or a glob (`strata-*`). */
export function loaderConf(defaultEntry: string, timeoutSeconds = 0): string {
  return `# Written by strata.\ndefault ${defaultEntry}\ntimeout ${timeoutSeconds}\nconsole-mode keep\neditor no\n`;
}

export function loaderEntry(e: LoaderEntry): string {
  return [
    `title ${e.title}`,
    `version ${e.version}`,
    // Entries sort by sort-key, then version, newest first: the menu lists versions in order.
    "sort-key strata",
    `linux ${e.linux}`,
    `initrd ${e.initrd}`,
    `options ${e.options}`,
    "",
  ].join("\n");
}

const MTOOLS_ENV = { MTOOLS_SKIP_CHECK: "1" };

/** Makes `image` (a FAT32 file of `bytes`) holding `files` and the text files in `texts`. */
export async function makeEsp(
  image: string,
  bytes: number,
  label: string,
  files: EspFile[],
  texts: { to: string; from: string }[],
  fatBits: "12" | "16" | "32" = "32",
): Promise<void> {
  await run("mkfs.vfat", [
    "-C",
    "-F",
    fatBits,
    "-n",
    label,
    image,
    String(Math.floor(bytes / 1024)),
  ]);
  const all = [...files, ...texts];
  const dirs = new Set<string>();
  for (const f of all) {
    const parts = f.to.split("/").filter(Boolean).slice(0, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(`/${parts.slice(0, i).join("/")}`);
  }
  const sorted = [...dirs].sort((a, b) => a.split("/").length - b.split("/").length);
  if (sorted.length > 0) {
    await run("mmd", ["-i", image, ...sorted.map((d) => `::${d}`)], { env: MTOOLS_ENV });
  }
  for (const f of all) {
    await run("mcopy", ["-i", image, "-o", f.from, `::${f.to}`], { env: MTOOLS_ENV });
  }
}
