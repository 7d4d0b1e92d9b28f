/**
 * ISO images, proved by booting them in QEMU (TCG): the hybrid ISO as a CD on UEFI (OVMF) and
 * on BIOS (SeaBIOS), and its installer: an unattended install onto a blank disk, then that disk
 * booted alone. One build from the same cached layers as examples/disk and the disk tests; the
 * boots run at once. Bad ISO outputs are refused at validation.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { bootMachine } from "../../src/vm/machine.js";
import { cli, mountsUnder, needsRoot, ROOT, TEST_CACHE, tempDir, writeRecipe } from "../helpers.js";
import { ok, whileLoggedIn } from "./machine-helpers.js";

process.env.STRATA_ACCEL ??= "tcg";
const GIB = 1024 ** 3;

describe("ISO images", { skip: needsRoot }, () => {
  let out: string;
  let recipeDir: string;
  const iso = () => join(out, "kiosk.iso");
  const sidecar = () => JSON.parse(readFileSync(`${iso()}.json`, "utf8"));
  /** Lists a directory of the ISO, as xorriso reads it (nothing is mounted). */
  const isoLs = (dir: string) =>
    execFileSync("xorriso", ["-indev", iso(), "-ls", dir], { encoding: "utf8", stdio: "pipe" })
      .split("\n")
      .filter((l) => l.startsWith("'"))
      .map((l) => l.replace(/'/g, ""));

  before(() => {
    out = tempDir("strata-out-");
    recipeDir = tempDir("strata-recipe-");
    cpSync(join(ROOT, "examples/disk"), recipeDir, { recursive: true });
    const yaml = readFileSync(join(recipeDir, "strata.yaml"), "utf8")
      .replace(/^tests:[\s\S]*$/m, "")
      .replace(
        /^outputs:\n {2}- \{ type: disk \}$/m,
        "outputs:\n  - { type: iso, name: kiosk, installer: true }",
      );
    assert.match(yaml, /type: iso/);
    writeFileSync(join(recipeDir, "strata.yaml"), yaml);
    const r = cli(["build", recipeDir, "--cache-dir", TEST_CACHE, "--out", out]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => {
    rmSync(out, { recursive: true, force: true });
    rmSync(recipeDir, { recursive: true, force: true });
  });

  it("writes one ISO with the disk image, the boot files for both firmwares, and its .iso.json", () => {
    const s = sidecar();
    assert.deepEqual(s.firmware, ["uefi", "bios"]);
    assert.equal(s.installer, true);
    assert.match(s.cmdline, /strata\.medium=LABEL=STRATA_ISO strata\.medium\.offset=\d+ /);
    assert.deepEqual(isoLs("/boot").sort(), ["efi.img", "grub", "initrd.img", "vmlinuz"]);
    assert.deepEqual(isoLs("/boot/grub").sort(), ["eltorito.img", "grub.cfg"]);
    assert.deepEqual(isoLs("/strata").sort(), ["disk.img", "installer.sqfs", "live-layers"]);
    // Hybrid: an MBR partition table for USB sticks, El Torito boot records for CDs.
    const table = execFileSync("sfdisk", ["--dump", iso()], { encoding: "utf8" });
    assert.match(table, /type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B/);
    const report = execFileSync("xorriso", ["-indev", iso(), "-report_el_torito", "plain"], {
      encoding: "utf8",
      stdio: "pipe",
    });
    assert.match(report, /El Torito boot img :\s+1\s+BIOS/);
    assert.match(report, /El Torito boot img :\s+2\s+UEFI/);
    assert.deepEqual(mountsUnder(TEST_CACHE), []);
  });

  it("refuses, before building, an arm64 ISO for BIOS and a BIOS disk inside an arm64 ISO", () => {
    const recipe = writeRecipe(`name: armiso
distro: { suite: trixie, arch: arm64 }
layers:
  - name: base
    bootstrap: { variant: minbase, packages: [linux-image-arm64] }
outputs:
  - { type: iso, firmware: [uefi, bios] }
  - { type: iso, name: other, disk: { boot: bios } }
`);
    const r = cli(["validate", recipe]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /outputs\[0\]\.firmware.*cannot boot with BIOS/);
    assert.match(r.stderr, /outputs\[1\]\.disk\.boot.*boot: bios is not supported on arm64/);
  });

  describe("boots", { concurrency: true }, () => {
    for (const boot of ["uefi", "bios"] as const) {
      it(`as a CD on ${boot}: GRUB finds the medium, the root is the image's layers and the installer's`, async () => {
        const m = await bootMachine({ cdrom: iso(), arch: "amd64", boot });
        await whileLoggedIn(m, async () => {
          assert.match(await ok(m, "findmnt -n -o FSTYPE /"), /^overlay/m);
          assert.equal((await ok(m, "cat /etc/strata-example")).trim(), "from the system layer");
          assert.equal((await ok(m, "cat /run/strata/medium-device")).trim(), "/dev/sr0");
          assert.match(
            await ok(m, "findmnt -n -o FSTYPE,OPTIONS /run/strata/store"),
            /^ext4\s+ro/m,
          );
          assert.equal((await ok(m, "ls /run/strata/layers | wc -l")).trim(), "3");
          assert.equal((await m.exec("test -d /sys/firmware/efi")).status, boot === "uefi" ? 0 : 1);
          // The installer refuses the medium it booted from, and a partition.
          const self = await m.exec("strata-install /dev/sr0 --yes");
          assert.equal(self.status, 1, self.output);
          assert.match(self.output, /\/dev\/sr0 is the medium this system booted from/);
        });
      });
    }

    it("installs unattended onto a blank disk, which then boots alone with its store grown to the disk", async () => {
      const work = tempDir("strata-install-");
      try {
        for (const f of ["vmlinuz", "initrd.img"]) {
          const to = join(work, f);
          execFileSync(
            "xorriso",
            ["-osirrox", "on", "-indev", iso(), "-extract", `/boot/${f}`, to],
            {
              stdio: "pipe",
            },
          );
        }
        const target = join(work, "target.img");
        writeFileSync(target, "");
        truncateSync(target, 4 * GIB);
        const installer = await bootMachine({
          cdrom: iso(),
          arch: "amd64",
          boot: "bios",
          kernel: {
            path: join(work, "vmlinuz"),
            initrd: join(work, "initrd.img"),
            append: `${sidecar().cmdline} strata.install=/dev/vda strata.install.poweroff`,
          },
          drives: [{ path: target }],
        });
        try {
          assert.equal(await installer.waitForPoweroff(), 0, installer.tail(30));
          assert.match(
            installer.output,
            /strata-install: writing \d+ MiB to \/dev\/vda \(4096 MiB\)/,
          );
          assert.match(installer.output, /strata-install: installed on \/dev\/vda/);
        } finally {
          await installer.close();
        }
        const m = await bootMachine({ image: target, copy: false, arch: "amd64", boot: "uefi" });
        await whileLoggedIn(m, async () => {
          assert.match(await ok(m, "findmnt -n -o FSTYPE /"), /^overlay/m);
          assert.equal((await ok(m, "cat /etc/strata-example")).trim(), "from the system layer");
          // The installer layer stayed on the medium.
          assert.equal((await m.exec("test -e /usr/sbin/strata-install")).status, 1);
          const store = Number(
            (await ok(m, "df -B1 --output=size /run/strata/store")).split("\n")[1],
          );
          assert.ok(store > 3.3 * GIB, `the store fills the 4 GiB disk: ${store} bytes`);
        });
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    });
  });
});
