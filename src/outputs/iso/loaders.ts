/**
 * The ISO's boot loaders, made in a layer on the kernel's layer from the image's own GRUB
 * (so an arm64 ISO gets arm64 GRUB): an El Torito core image for BIOS (CD, and USB sticks
 * through GRUB's hybrid MBR) and a removable-media EFI binary, both with an embedded
 * configuration that finds the medium by its label and reads its /boot/grub/grub.cfg.
 * GRUB reads ISO 9660, so the kernel and initramfs are on the ISO once.
 */
import type { ResolvedLayer } from "../../recipe/graph.js";
import type { Step } from "../../recipe/schema.js";
import { addedLayer } from "../added-layer.js";

export const LOADERS_ROLE = "iso-loaders";
/** The ISO 9660 volume id: the boot loaders and the initramfs find the medium by it. */
export const ISO_LABEL = "STRATA_ISO";
export const LOADER_DIR = "/usr/lib/strata/iso";
export const ELTORITO = `${LOADER_DIR}/eltorito.img`;
export const BOOT_HYBRID = "/usr/lib/grub/i386-pc/boot_hybrid.img";
export const EFI_NAME = { amd64: "BOOTX64.EFI", arm64: "BOOTAA64.EFI" } as const;
const EFI_TARGET = { amd64: "x86_64-efi", arm64: "arm64-efi" } as const;
const EFI_PACKAGE = { amd64: "grub-efi-amd64-bin", arm64: "grub-efi-arm64-bin" } as const;

const COMMON_MODULES = [
  "iso9660",
  "part_msdos",
  "part_gpt",
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

export function loaderSteps(arch: "amd64" | "arm64", bios: boolean): Step[] {
  const early = [
    `search --no-floppy --label ${ISO_LABEL} --set=root`,
    "set prefix=($root)/boot/grub",
    "configfile $prefix/grub.cfg",
  ].join("\n");
  const efi = EFI_TARGET[arch];
  const lines = [
    `mkdir -p ${LOADER_DIR}`,
    `cat > /tmp/early.cfg <<'STRATA_EOF'\n${early}\nSTRATA_EOF`,
    `grub-mkimage -O ${efi} -d /usr/lib/grub/${efi} -c /tmp/early.cfg -p /boot/grub -o ${LOADER_DIR}/${EFI_NAME[arch]} ${[...COMMON_MODULES, "fat", "efi_gop"].join(" ")}`,
  ];
  if (bios) {
    lines.push(
      `grub-mkimage -O i386-pc-eltorito -d /usr/lib/grub/i386-pc -c /tmp/early.cfg -p /boot/grub -o ${ELTORITO} ${[...COMMON_MODULES, "biosdisk"].join(" ")}`,
    );
  }
  return [
    { packages: [EFI_PACKAGE[arch], ...(bios ? ["grub-pc-bin"] : [])] },
    { run: { name: "ISO boot loaders", script: lines.join("\n") } },
  ];
}

export function loadersLayer(on: ResolvedLayer, arch: "amd64" | "arm64", bios: boolean) {
  return addedLayer(
    on,
    `${on.name}.iso-loaders${bios ? "-bios" : ""}`,
    loaderSteps(arch, bios),
    "ISO boot loaders layer",
    "outputs",
  );
}
