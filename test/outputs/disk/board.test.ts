/**
 * Raspberry Pi boards: config.txt, the kernel options a board needs, the plan of a board's
 * disk (MBR, a FAT boot partition of type c holding kernel, initramfs, config.txt and
 * cmdline.txt), its console, its boot layer, its files taken out of a tree shaped like the
 * boot layer's, and the recipe checks before anything is built.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { StrataError } from "../../../src/errors.js";
import { BOARD_INFO, configTxt, missingKernelOptions } from "../../../src/outputs/disk/board.js";
import { extractBootFiles } from "../../../src/outputs/disk/boot-files.js";
import { bootLayerName, bootLayerSteps } from "../../../src/outputs/disk/boot-layer.js";
import { consoles } from "../../../src/outputs/disk/cmdline.js";
import { planDisk } from "../../../src/outputs/disk/plan.js";
import { DiskOutput, diskSettings } from "../../../src/outputs/disk/schema.js";
import { verifyDisk } from "../../../src/outputs/disk/verify.js";
import { Recipe } from "../../../src/recipe/schema.js";
import { verifyRecipe } from "../../../src/recipe/verify.js";
import { tempDir } from "../../helpers.js";

const MIB = 1024 * 1024;
const disk = (o: Record<string, unknown> = {}) => DiskOutput.parse({ type: "disk", ...o });
const recipe = (o: Record<string, unknown> = {}) =>
  Recipe.parse({
    name: "pi",
    distro: { arch: "arm64", components: ["main", "non-free-firmware"] },
    layers: [{ name: "base", bootstrap: { packages: ["linux-image-arm64"] } }],
    ...o,
  });

describe("config.txt", () => {
  it("boots the arm64 kernel and initramfs strata puts there, with the UART on, the recipe's lines last", () => {
    const text = configTxt("rpi4", "kiosk", ["dtparam=audio=on", "gpu_mem=64"]);
    const lines = text.split("\n");
    for (const l of [
      "arm_64bit=1",
      "enable_uart=1",
      "upstream_kernel=1",
      "kernel=vmlinuz",
      "initramfs initrd.img followkernel",
    ])
      assert.ok(lines.includes(l), `${l} in\n${text}`);
    assert.match(text, /^# Written by strata for kiosk \(Raspberry Pi 4\)/);
    assert.deepEqual(lines.slice(-3), ["dtparam=audio=on", "gpu_mem=64", ""]);
    assert.doesNotMatch(configTxt("rpi3", "kiosk", []), /From the recipe/);
  });
});

describe("missingKernelOptions", () => {
  it("is empty when any one of the board's SD drivers is built in or a module", () => {
    const needs = ["CONFIG_MMC_BCM2835", "CONFIG_MMC_SDHCI_IPROC"];
    assert.deepEqual(missingKernelOptions("CONFIG_MMC_BCM2835=m\n", needs), []);
    assert.deepEqual(missingKernelOptions("X=1\nCONFIG_MMC_SDHCI_IPROC=y\n", needs), []);
    assert.deepEqual(
      missingKernelOptions("# CONFIG_MMC_BCM2835 is not set\nCONFIG_MMC_SDHCI_IPROC=n\n", needs),
      needs,
    );
    // Debian's trixie kernel: the Pi 5's SD host is not there.
    assert.deepEqual(
      missingKernelOptions("# CONFIG_MMC_SDHCI_BRCMSTB is not set\n", BOARD_INFO.rpi5.kernelNeeds),
      ["CONFIG_MMC_SDHCI_BRCMSTB"],
    );
  });
});

describe("a board's disk plan", () => {
  const input = (o: Record<string, unknown>) => ({
    disk: diskSettings(disk(o)),
    arch: "arm64",
    recipe: "kiosk",
    name: "pi",
    kernelVersion: "6.12.1-arm64",
    bootBytes: 70 * MIB,
    boardBytes: 4 * MIB,
    contentBytes: 300 * MIB,
    bootDigests: { vmlinuz: "a".repeat(64), initrd: "b".repeat(64) },
  });

  it("is MBR with a FAT boot partition of type c, then the store; kernel, initramfs, config.txt, cmdline.txt on it", () => {
    // `table` and `boot` give way to the board.
    const p = planDisk(input({ board: "rpi3", table: "gpt", config: ["gpu_mem=16"] }));
    assert.equal(p.layout.table, "mbr");
    assert.deepEqual(
      p.layout.partitions.map((x) => [x.role, x.type]),
      [
        ["esp", "c"],
        ["data", "83"],
      ],
    );
    assert.deepEqual(
      p.esp?.files.map((f) => [f.source, f.to]),
      [
        ["vmlinuz", "/vmlinuz"],
        ["initrd", "/initrd.img"],
      ],
    );
    assert.match(p.esp?.texts["/config.txt"] ?? "", /\ngpu_mem=16\n$/);
    assert.equal(p.esp?.texts["/cmdline.txt"], `${p.cmdline}\n`);
    assert.match(
      p.cmdline,
      /^boot=strata strata\.version=1 strata\.root=immutable strata\.store=LABEL=strata-store console=tty0 console=ttyS1,115200$/,
    );
    assert.deepEqual(
      [p.sidecar.boot, p.sidecar.board, p.sidecar.console],
      ["rpi", "rpi3", "ttyS1"],
    );
    assert.equal(p.grubConfig, undefined);
  });

  it("counts the firmware in the boot partition's size, and names it when it does not fit", () => {
    assert.throws(
      () => planDisk(input({ board: "rpi4", esp_size: "80M" })),
      (e: StrataError) =>
        e.code === "E_DISK_SIZE" &&
        /esp_size 80 MiB is too small; it needs at least 90 MiB/.test(e.message) &&
        /firmware and device trees 4 MiB/.test(e.message),
    );
  });

  it("puts a flat root's kernel in its /boot too, and the Pi 5's console on its debug UART", () => {
    const p = planDisk(input({ board: "rpi5", root: "flat" }));
    assert.deepEqual(
      p.dataFiles.map((f) => f.to),
      ["/boot/vmlinuz-6.12.1-arm64", "/boot/initrd.img-6.12.1-arm64"],
    );
    assert.match(p.cmdline, /^root=LABEL=strata-root rw console=tty0 console=ttyAMA10,115200$/);
    assert.deepEqual(consoles({ board: "rpi4" }, "arm64"), ["tty0", "ttyS1,115200"]);
    assert.deepEqual(consoles({ board: "rpi4", console: ["ttyAMA0"] }, "arm64"), ["ttyAMA0"]);
  });
});

describe("a board's boot layer", () => {
  it("installs raspi-firmware while ischroot says chroot, then puts ischroot back; one layer for every board", () => {
    const d = diskSettings(disk({ board: "rpi4" }));
    const steps = bootLayerSteps(d);
    const at = (pred: (s: (typeof steps)[number]) => boolean) => steps.findIndex(pred);
    const on = at(
      (s) => typeof s.run === "object" && /--add \/usr\/bin\/ischroot/.test(s.run.script),
    );
    const install = at((s) => s.packages?.includes("raspi-firmware") === true);
    const off = at(
      (s) => typeof s.run === "object" && /--remove \/usr\/bin\/ischroot/.test(s.run.script),
    );
    assert.ok(on >= 0 && on < install && install < off, `${on} ${install} ${off}`);
    assert.equal(
      steps.some((s) => s.packages?.some((p) => /systemd-boot|grub/.test(p))),
      false,
    );
    assert.equal(bootLayerName("kernel", d), "kernel.boot-rpi-ext4");
    assert.equal(
      bootLayerName("kernel", diskSettings(disk({ board: "rpi3" }))),
      "kernel.boot-rpi-ext4",
    );
  });
});

describe("a board's files out of the boot layer", () => {
  const tree = (kernelConfig: string) => {
    const root = tempDir("strata-board-root-");
    const put = (rel: string, content: string) => {
      mkdirSync(join(root, rel, ".."), { recursive: true });
      writeFileSync(join(root, rel), content);
    };
    const v = "6.12.1-arm64";
    put(`boot/vmlinuz-${v}`, "kernel");
    put(`boot/initrd.img-${v}`, "initrd");
    put(`boot/config-${v}`, kernelConfig);
    for (const f of ["bootcode.bin", "start.elf", "fixup.dat", "start4.elf", "fixup4.dat"])
      put(`usr/lib/raspi-firmware/${f}`, f);
    put("usr/lib/raspi-firmware/overlays/disable-bt.dtbo", "overlay");
    put("usr/lib/raspi-firmware/overlays/README.md", "not an overlay");
    for (const f of ["bcm2837-rpi-3-b.dtb", "bcm2837-rpi-3-b-plus.dtb", "bcm2711-rpi-4-b.dtb"])
      put(`usr/lib/linux-image-${v}/broadcom/${f}`, f);
    return root;
  };

  it("takes the board's firmware, its family's device trees and the overlays", () => {
    const root = tree("CONFIG_MMC_BCM2835=m\n");
    const files = extractBootFiles(root, diskSettings(disk({ board: "rpi3" })), "arm64", tempDir());
    assert.deepEqual(
      files.board?.map((f) => f.to),
      [
        "/bootcode.bin",
        "/start.elf",
        "/fixup.dat",
        "/bcm2837-rpi-3-b-plus.dtb",
        "/bcm2837-rpi-3-b.dtb",
        "/overlays/disable-bt.dtbo",
      ],
    );
    for (const f of files.board ?? [])
      assert.equal(
        readFileSync(f.from, "utf8"),
        f.to.replace(/^\/(overlays\/)?/, "").replace("disable-bt.dtbo", "overlay"),
      );
  });

  it("refuses a kernel without the board's SD driver, and one without the board's device tree", () => {
    const cases: [string, RegExp][] = [
      [
        "# CONFIG_MMC_SDHCI_BRCMSTB is not set\n",
        /cannot boot a Raspberry Pi 5 from its SD card: its config has none of CONFIG_MMC_SDHCI_BRCMSTB/,
      ],
      ["CONFIG_MMC_SDHCI_BRCMSTB=m\n", /no device tree bcm2712-rpi-5-b\.dtb/],
    ];
    for (const [config, message] of cases) {
      const pi5 = diskSettings(disk({ board: "rpi5" }));
      assert.throws(
        () => extractBootFiles(tree(config), pi5, "arm64", tempDir()),
        (e: StrataError) => e.code === "E_BOARD_KERNEL" && message.test(e.message),
      );
    }
  });
});

describe("a board's recipe checks", () => {
  const problems = (o: Record<string, unknown>, r = recipe()) =>
    verifyDisk(disk(o), { recipe: r, index: 0 }).map((p) => `${p.path.join(".")}: ${p.message}`);

  it("needs arm64, the non-free-firmware component, and not BIOS", () => {
    assert.deepEqual(problems({ board: "rpi4" }), []);
    const amd64 = recipe({ distro: { arch: "amd64", components: ["main", "non-free-firmware"] } });
    assert.match(
      problems({ board: "rpi4" }, amd64).join("\n"),
      /^board: board: rpi4 needs distro\.arch arm64, not amd64$/m,
    );
    const main = recipe({ distro: { arch: "arm64" } });
    assert.match(
      problems({ board: "rpi3" }, main).join("\n"),
      /^board: the Raspberry Pi 3's firmware \(Debian's raspi-firmware\) is in the non-free-firmware component, which distro\.components \(main\) lacks$/m,
    );
    assert.match(
      problems({ board: "rpi3", boot: "bios" }).join("\n"),
      /^boot: a Raspberry Pi 3 boots from its own firmware/m,
    );
  });

  it("takes config lines only with a board, and no `update` yet", () => {
    assert.match(
      problems({ config: ["gpu_mem=16"] }).join("\n"),
      /^config: config lines go into a Raspberry Pi's config\.txt/m,
    );
    assert.throws(() => disk({ board: "rpi4", config: ["a\nb"] }));
    const dir = tempDir("strata-pi-recipe-");
    writeFileSync(join(dir, "update.pub"), "key");
    const r = recipe({
      outputs: [{ type: "disk", board: "rpi4" }],
      update: { url: "http://10.0.0.1/", keyring: "update.pub" },
    });
    const found = verifyRecipe(r, dir, {}).map((p) => `${p.path.join(".")}: ${p.message}`);
    assert.ok(
      found.some((p) => /^outputs\.0\.board: a Raspberry Pi image cannot take updates yet/.test(p)),
      found.join("\n"),
    );
  });
});
