import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  bootLayer,
  bootLayerSteps,
  bootPackages,
  GRUB_CORE,
  kernelLayerOf,
} from "../../../src/outputs/disk/boot-layer.js";
import type { ResolvedLayer } from "../../../src/recipe/graph.js";
import { systemLayer } from "../fixtures.js";

const top = systemLayer;

describe("boot layer", () => {
  it("installs the tools of the chosen boot loader and filesystem", () => {
    assert.deepEqual(
      bootPackages({ boot: "uefi", filesystem: "ext4", root: "immutable", table: "gpt" }),
      ["initramfs-tools", "fdisk", "e2fsprogs", "systemd-boot-efi"],
    );
    const bios = bootPackages({ boot: "bios", filesystem: "btrfs", root: "flat", table: "mbr" });
    assert.ok(bios.includes("btrfs-progs") && bios.includes("grub-pc-bin"));
    assert.ok(!bios.includes("systemd-boot-efi"));
  });

  it("writes the initramfs scripts and makes GRUB's core image only for BIOS", () => {
    const uefi = bootLayerSteps({
      boot: "uefi",
      filesystem: "ext4",
      root: "immutable",
      table: "gpt",
    });
    const paths = uefi.flatMap((s) => (s.write ? [s.write.path] : []));
    assert.ok(paths.includes("/usr/share/initramfs-tools/scripts/strata"));
    assert.ok(paths.includes("/usr/share/initramfs-tools/hooks/strata"));
    const script = uefi.find((s) => s.write?.path.endsWith("scripts/strata"))?.write?.content;
    assert.match(script ?? "", /^mountroot\(\) \{/m);
    assert.ok(!JSON.stringify(uefi).includes(GRUB_CORE));
    const bios = bootLayerSteps({ boot: "bios", filesystem: "ext4", root: "flat", table: "mbr" });
    assert.ok(JSON.stringify(bios).includes(GRUB_CORE));
    assert.match(JSON.stringify(bios), /--label strata-root/);
    // The boot layer is not part of the image: it writes nothing the image's root needs.
    assert.ok(!bios.some((s) => s.write?.path === "/etc/fstab"));
  });

  it("sits on the given layer, with a name per boot settings that change its content", () => {
    const settings = { boot: "uefi", filesystem: "btrfs", table: "gpt" } as const;
    const l = bootLayer(top, { ...settings, root: "persistent" });
    assert.equal(l.parent, "system");
    assert.deepEqual(l.chain, ["base", "system", l.name]);
    assert.equal(l.name, "system.boot-uefi-btrfs");
    assert.equal(bootLayer(top, { ...settings, root: "immutable" }).name, l.name);
    assert.equal(l.steps.length, l.spec.steps?.length);
    const bios = { boot: "bios", filesystem: "ext4", table: "mbr" } as const;
    assert.equal(bootLayer(top, { ...bios, root: "flat" }).name, "system.boot-bios-ext4-root");
    assert.equal(
      bootLayer(top, { ...bios, root: "immutable" }).name,
      "system.boot-bios-ext4-store",
    );
  });

  it("sits on the lowest layer that names a kernel package, else on the top", () => {
    const layer = (name: string, chain: string[], packages: string[] = []): ResolvedLayer => ({
      name,
      index: chain.length - 1,
      parent: chain.at(-2),
      chain,
      spec: { name, packages },
      steps: packages.length
        ? [{ kind: "packages", step: { packages }, path: [], label: "packages" }]
        : [],
    });
    const base: ResolvedLayer = {
      ...layer("base", ["base"]),
      spec: { name: "base", bootstrap: { variant: "minbase", packages: ["linux-image-amd64"] } },
    };
    const sys = layer("sys", ["base", "sys"], ["linux-image-cloud-amd64"]);
    const app = layer("app", ["base", "sys", "app"]);
    assert.equal(kernelLayerOf([base, sys, app]).name, "base");
    assert.equal(kernelLayerOf([{ ...base, spec: { name: "base" } }, sys, app]).name, "sys");
    assert.equal(kernelLayerOf([{ ...base, spec: { name: "base" } }, app]).name, "app");
  });
});
