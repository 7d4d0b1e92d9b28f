/**
 * The boot layer: a layer strata adds on top of a disk output's stack. It is made of ordinary
 * recipe steps, so it is built in the sandbox and cached like any other layer, and its key
 * changes when the boot scripts or the disk's settings change. It installs what booting needs
 * from the image's own distribution (so an arm64 image gets arm64 tools): initramfs-tools with
 * the strata boot script and first-boot growth scripts, sfdisk, the store's filesystem tools,
 * and the boot loader's files (systemd-boot's EFI binary, or GRUB's i386-pc core image); then
 * it regenerates the initramfs of every installed kernel.
 */
import { readFileSync } from "node:fs";
import type { PlannedStep, ResolvedLayer } from "../recipe/graph.js";
import type { LoadedRecipe } from "../recipe/load.js";
import type { DiskOutput, Layer, Step } from "../recipe/schema.js";
import { stepKind } from "../recipe/graph.js";

const ASSETS = new URL("../../../assets/initramfs-tools/", import.meta.url);

/** The initramfs-tools files strata installs, by their path in the image. */
export const INITRAMFS_FILES = [
  { asset: "hooks/strata", path: "/usr/share/initramfs-tools/hooks/strata", mode: "0755" },
  { asset: "scripts/strata", path: "/usr/share/initramfs-tools/scripts/strata", mode: "0644" },
  {
    asset: "scripts/strata-functions",
    path: "/usr/share/initramfs-tools/scripts/strata-functions",
    mode: "0644",
  },
  {
    asset: "scripts/local-premount/strata-grow",
    path: "/usr/share/initramfs-tools/scripts/local-premount/strata-grow",
    mode: "0755",
  },
  {
    asset: "scripts/local-bottom/strata-grow",
    path: "/usr/share/initramfs-tools/scripts/local-bottom/strata-grow",
    mode: "0755",
  },
] as const;

/** Where the boot layer leaves GRUB's core image for the disk assembly to embed. */
export const GRUB_CORE = "/usr/lib/grub/i386-pc/strata-core.img";
/** Filesystem labels the boot loader and the boot script look for. */
export const STORE_LABEL = "strata-store";
export const ROOT_LABEL = "strata-root";
export const ESP_LABEL = "STRATA-ESP";

export type BootSettings = Pick<DiskOutput, "boot" | "filesystem" | "root" | "table">;

export function bootPackages(disk: BootSettings): string[] {
  const packages = ["initramfs-tools", "fdisk", "e2fsprogs"];
  if (disk.filesystem === "btrfs") packages.push("btrfs-progs");
  packages.push(disk.boot === "uefi" ? "systemd-boot-efi" : "grub-pc-bin");
  return packages;
}

/** GRUB modules built into the core image: enough to find and read the store or root. */
export const GRUB_MODULES = [
  "biosdisk",
  "part_msdos",
  "part_gpt",
  "ext2",
  "btrfs",
  "search",
  "search_label",
  "normal",
  "linux",
  "configfile",
  "echo",
  "test",
  "serial",
  "terminal",
];

function grubCoreScript(disk: BootSettings): string {
  const label = disk.root === "flat" ? ROOT_LABEL : STORE_LABEL;
  // The embedded configuration finds the partition by label and reads its grub.cfg.
  const early = [
    `search --no-floppy --label ${label} --set=root`,
    "set prefix=($root)/boot/grub",
    "configfile $prefix/grub.cfg",
  ].join("\n");
  return [
    `cat > /tmp/early.cfg <<'STRATA_EOF'\n${early}\nSTRATA_EOF`,
    `grub-mkimage -O i386-pc -d /usr/lib/grub/i386-pc -c /tmp/early.cfg -p /boot/grub -o ${GRUB_CORE} ${GRUB_MODULES.join(" ")}`,
  ].join("\n");
}

/** Regenerates the initramfs of every kernel in the image, with the strata scripts in it. */
const MKINITRAMFS = `found=
for kernel in /boot/vmlinuz-* /boot/vmlinux-*; do
  [ -e "$kernel" ] || continue
  version=\${kernel#/boot/vmlinu?-}
  [ -d "/lib/modules/$version" ] || continue
  found=1
  mkinitramfs -o "/boot/initrd.img-$version" "$version"
done
[ -n "$found" ] || { echo "no kernel in /boot: install linux-image-* in a layer below" >&2; exit 1; }`;

const FSTAB_LAYERED =
  "# strata: the root is the layers of one version, stacked by the initramfs;\n# the store is mounted at /run/strata/store.\n";

export function bootLayerSteps(disk: BootSettings): Step[] {
  const steps: Step[] = [{ packages: bootPackages(disk) }];
  for (const f of INITRAMFS_FILES) {
    const content = readFileSync(new URL(f.asset, ASSETS), "utf8");
    steps.push({ write: { path: f.path, content, mode: f.mode } });
  }
  const fstab =
    disk.root === "flat"
      ? `# strata: a classic root\nLABEL=${ROOT_LABEL} / ${disk.filesystem} defaults 0 1\n`
      : FSTAB_LAYERED;
  steps.push({ write: { path: "/etc/fstab", content: fstab, mode: "0644" } });
  if (disk.boot === "bios")
    steps.push({ run: { name: "GRUB core image", script: grubCoreScript(disk) } });
  steps.push({ run: { name: "initramfs", script: MKINITRAMFS } });
  return steps;
}

/** The boot layer as a layer of the build, sitting on `top`. */
export function bootLayer(top: ResolvedLayer, disk: BootSettings): ResolvedLayer {
  const name = `${top.name}.boot-${disk.boot}-${disk.filesystem}-${disk.root}`;
  const steps = bootLayerSteps(disk);
  const spec: Layer = { name, steps };
  const planned: PlannedStep[] = steps.map((step, i) => {
    const kind = stepKind(step);
    return { kind, step, path: ["outputs"], label: `boot layer step ${i + 1} (${kind})` };
  });
  return { name, index: -1, parent: top.name, chain: [...top.chain, name], spec, steps: planned };
}

/** The boot layers of a recipe's disk outputs (for `cache gc`, which must keep them too). */
export function bootLayersOf(recipe: LoadedRecipe): ResolvedLayer[] {
  const byName = new Map(recipe.layers.map((l) => [l.name, l]));
  const last = recipe.recipe.layers.at(-1)?.name;
  return recipe.recipe.outputs.flatMap((o) => {
    const top = byName.get(o.layer ?? last ?? "");
    return o.type === "disk" && top ? [bootLayer(top, o)] : [];
  });
}
