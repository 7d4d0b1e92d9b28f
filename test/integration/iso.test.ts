/**
 * ISO images, proved by booting them in QEMU (TCG): the hybrid ISO as a CD on UEFI (OVMF) and
 * on BIOS (SeaBIOS); written to a larger USB stick with persistence, where the first boot
 * makes the persistence partition and a file survives a reboot; and its installer: an
 * unattended install onto a blank disk, then that disk booted alone. One build from the same cached layers as examples/disk and the disk tests; the
 * boots run at once. Bad ISO outputs are refused at validation.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { bootMachine } from "../../src/vm/machine.js";
import { cli, mountsUnder, needsRoot, TEST_CACHE, tempDir, writeRecipe } from "../helpers.js";
import { exampleWith } from "../example-recipe.js";
import { ok, PASSWORD, whileLoggedIn } from "./machine-helpers.js";

process.env.STRATA_ACCEL ??= "tcg";
const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

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
    exampleWith(recipeDir, ["{ type: iso, name: kiosk, installer: true, persistence: true }"]);
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
    assert.equal(s.persistence, true);
    assert.match(
      s.cmdline,
      /strata\.medium=LABEL=STRATA_ISO strata\.medium\.offset=\d+ strata\.persistence=LABEL=strata-persist /,
    );
    // The menu's second entry keeps the changes in RAM.
    const cfg = join(out, "grub.cfg");
    execFileSync(
      "xorriso",
      ["-osirrox", "on", "-indev", iso(), "-extract", "/boot/grub/grub.cfg", cfg],
      { stdio: "pipe" },
    );
    const menu = readFileSync(cfg, "utf8");
    rmSync(cfg);
    assert.equal(menu.match(/^menuentry /gm)?.length, 2, menu);
    assert.equal(menu.match(/strata\.persistence=/g)?.length, 1, menu);
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
          // Persistence is asked for, but a CD has no room: the changes stay in RAM.
          assert.match(m.output, /the medium \/dev\/sr0 is a CD: the changes stay in RAM/);
          assert.equal((await m.exec("test -e /run/strata/persistence-device")).status, 1);
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

    it("written to a larger USB stick: the first boot makes the persistence partition, and a file survives a reboot", async () => {
      const work = tempDir("strata-usb-");
      try {
        // As `dd` writes it: the ISO's bytes, then free space (its GPT's backup header stays
        // at the end of the ISO, for the boot script to move).
        const stick = join(work, "stick.img");
        execFileSync("cp", ["--sparse=always", iso(), stick]);
        truncateSync(stick, statSync(iso()).size + 512 * MIB);
        const m = await bootMachine({
          image: stick,
          copy: false,
          usb: true,
          arch: "amd64",
          boot: "uefi",
        });
        await whileLoggedIn(m, async () => {
          assert.match(m.output, /strata: making a partition for the changes on \/dev\/sda/);
          const dev = (await ok(m, "cat /run/strata/persistence-device")).trim();
          assert.equal(dev, "/dev/sda4");
          assert.equal((await ok(m, `blkid -o value -s LABEL ${dev}`)).trim(), "strata-persist");
          assert.match(
            await ok(m, "findmnt -n -o FSTYPE,OPTIONS /run/strata/persistence"),
            /^ext4\s+rw/m,
          );
          const bytes = Number((await ok(m, `blockdev --getsize64 ${dev}`)).trim());
          assert.ok(bytes > 500 * MIB, `the partition fills the free space: ${bytes} bytes`);
          assert.equal((await ok(m, "cat /etc/strata-example")).trim(), "from the system layer");
          await ok(m, "echo kept > /root/kept && echo changed > /etc/strata-example && sync");
          const first = m.output.length;
          await m.reboot();
          await m.login("root", PASSWORD);
          const second = m.output.slice(first);
          assert.doesNotMatch(second, /making a partition/);
          assert.match(second, /strata: the changes are kept on \/dev\/sda4/);
          assert.equal((await ok(m, "cat /root/kept")).trim(), "kept");
          assert.equal((await ok(m, "cat /etc/strata-example")).trim(), "changed");
        });
        // The stick's table: the ISO's partitions and the new one, the backup header at its end.
        const table = execFileSync("sfdisk", ["--dump", stick], { encoding: "utf8" });
        assert.match(table, /stick\.img4 : .*name="strata-persist"/);
        // GPT's backup header in the last sector, its partition entries just before it.
        const entries = Math.ceil((Number(/table-length: (\d+)/.exec(table)?.[1]) * 128) / 512);
        const lastLba = Number(/last-lba: (\d+)/.exec(table)?.[1]);
        assert.equal(lastLba, statSync(stick).size / 512 - 2 - entries, table);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    });

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
