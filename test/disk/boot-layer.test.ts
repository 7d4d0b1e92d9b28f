import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bootLayer, bootLayerSteps, bootPackages, GRUB_CORE } from "../../src/disk/boot-layer.js";
import type { ResolvedLayer } from "../../src/recipe/graph.js";

const top: ResolvedLayer = {
  name: "system",
  index: 1,
  parent: "base",
  chain: ["base", "system"],
  spec: { name: "system" },
  steps: [],
};

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
    const fstab = bios.find((s) => s.write?.path === "/etc/fstab")?.write?.content;
    assert.match(fstab ?? "", /^LABEL=strata-root \/ ext4/m);
  });

  it("sits on the output's top layer, with a name per boot settings", () => {
    const l = bootLayer(top, {
      boot: "uefi",
      filesystem: "btrfs",
      root: "persistent",
      table: "gpt",
    });
    assert.equal(l.parent, "system");
    assert.deepEqual(l.chain, ["base", "system", l.name]);
    assert.equal(l.name, "system.boot-uefi-btrfs-persistent");
    assert.equal(l.steps.length, l.spec.steps?.length);
  });
});
