/**
 * Disk images, proved by booting them in QEMU (TCG, so the tests run where KVM does not):
 * GPT + UEFI + ext4 + immutable (the stacked layers are the root, runtime changes are gone after
 * a reboot, and a 2 GiB image grows to fill a 4 GiB disk), GPT + BIOS + persistent (GRUB in the
 * BIOS boot partition; changes survive a reboot), MBR + BIOS + btrfs + flat. MBR + UEFI is
 * booted by the `strata test` test. One build makes the three images from the same cached
 * layers as examples/disk.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { BuildResult } from "../../src/build/build.js";
import { bootMachine, type Machine } from "../../src/vm/machine.js";
import { cli, loopDevicesFor, mountsUnder, needsRoot, TEST_CACHE, tempDir } from "../helpers.js";
import { exampleWith } from "../example-recipe.js";
import { ok, PASSWORD, whileLoggedIn } from "./machine-helpers.js";

process.env.STRATA_ACCEL ??= "tcg";
const GIB = 1024 ** 3;

/** Boots `image`, logs in as root, runs `fn`, and always stops QEMU. */
async function withMachine(
  image: string,
  options: { boot: "uefi" | "bios"; diskSizeBytes?: number },
  fn: (m: Machine) => Promise<void>,
): Promise<void> {
  const m = await bootMachine({
    image,
    arch: "amd64",
    boot: options.boot,
    diskSizeBytes: options.diskSizeBytes,
  });
  await whileLoggedIn(m, fn);
}

describe("disk images", { skip: needsRoot }, () => {
  let out: string;
  let recipeDir: string;
  let result: BuildResult;
  const image = (name: string) => join(out, `${name}.img`);

  before(() => {
    out = tempDir("strata-out-");
    recipeDir = tempDir("strata-recipe-");
    exampleWith(recipeDir, [
      "{ type: disk, name: immutable, size: 2G }",
      "{ type: disk, name: persistent, root: persistent, boot: bios }",
      "{ type: disk, name: flat, table: mbr, boot: bios, filesystem: btrfs, root: flat }",
    ]);
    const r = cli(["build", recipeDir, "--json", "--cache-dir", TEST_CACHE, "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    result = JSON.parse(r.stdout) as BuildResult;
  });
  after(() => {
    rmSync(out, { recursive: true, force: true });
    rmSync(recipeDir, { recursive: true, force: true });
  });

  it("writes each image with its .bmap and .img.json, sparse, and leaves nothing mounted", () => {
    assert.deepEqual(
      result.outputs.map((o) => [o.type, o.path]),
      ["immutable", "persistent", "flat"].map((n) => ["disk", image(n)]),
    );
    for (const name of ["immutable", "persistent", "flat"]) {
      const meta = JSON.parse(readFileSync(`${image(name)}.json`, "utf8"));
      assert.equal(meta.format, "strata-disk/1");
      assert.equal(meta.arch, "amd64");
      assert.match(readFileSync(`${image(name)}.bmap`, "utf8"), /<bmap version=/);
    }
    assert.equal(JSON.parse(readFileSync(`${image("immutable")}.json`, "utf8")).bytes, 2 * GIB);
    assert.equal(JSON.parse(readFileSync(`${image("flat")}.json`, "utf8")).boot, "bios");
    assert.equal(JSON.parse(readFileSync(`${image("persistent")}.json`, "utf8")).table, "gpt");
    const st = readFileSync(`${image("immutable")}.bmap`, "utf8");
    const mapped = Number(/<MappedBlocksCount>\s*(\d+)/.exec(st)?.[1]);
    const total = Number(/<BlocksCount>\s*(\d+)/.exec(st)?.[1]);
    assert.ok(mapped < total / 2, `the image is sparse (${mapped} of ${total} blocks mapped)`);
    assert.deepEqual(mountsUnder(TEST_CACHE), []);
    assert.deepEqual(loopDevicesFor(TEST_CACHE), []);
  });

  it("adds one boot layer per boot setting, on the layer that installs the kernel", () => {
    const boot = result.layers.filter((l) => l.addedBy);
    assert.deepEqual(boot.map((l) => [l.name, l.parent, l.addedBy?.role]).sort(), [
      ["base.boot-bios-btrfs-root", "base", "boot"],
      ["base.boot-bios-ext4-store", "base", "boot"],
      ["base.boot-uefi-ext4", "base", "boot"],
    ]);
    // They are built for the images only: no module of theirs is in the output directory.
    assert.ok(boot.every((l) => l.file === undefined));
    assert.deepEqual(
      readdirSync(out).filter((f) => f.endsWith(".sqfs")),
      ["01-base.sqfs", "02-system.sqfs"],
    );
  });

  // The boots run at once: one vCPU each (TCG's default), on the host's cores.
  describe("boots", { concurrency: true }, () => {
    it("gpt + uefi + immutable: the root is the stacked layers; changes are gone after a reboot; the store fills a larger disk", async () => {
      await withMachine(image("immutable"), { boot: "uefi", diskSizeBytes: 4 * GIB }, async (m) => {
        assert.match(await ok(m, "findmnt -n -o FSTYPE /"), /^overlay/m);
        assert.equal((await ok(m, "cat /etc/strata-example")).trim(), "from the system layer");
        // /etc/issue.net is in the base module; the system layer deleted it.
        assert.equal((await m.exec("test -e /etc/issue.net")).status, 1);
        assert.match(await ok(m, "cat /run/strata/root /run/strata/version"), /immutable\s+1/);
        // The image boots the recipe's own layers; the boot layer only lent it the kernel,
        // the initramfs and the boot loader, and is not in the store.
        const layers = await ok(m, "cat /run/strata/store/versions/1/layers");
        assert.deepEqual(
          layers.trim().split(/\s+/),
          result.layers.filter((l) => l.file).map((l) => l.digest.replace(/^sha256:/, "")),
        );
        // The kernel the boot layer lent matches the modules of the image's own layers.
        await ok(m, 'test -d "/lib/modules/$(uname -r)/kernel"');
        // The store partition (2) and its filesystem now reach the end of the 4 GiB disk.
        const sectors = Number((await ok(m, "cat /sys/class/block/vda2/size")).trim());
        const storeBytes = Number(
          (await ok(m, "df -B1 --output=size /run/strata/store | tail -1")).trim(),
        );
        assert.ok(sectors * 512 > 3.5 * GIB, `partition of ${sectors} sectors`);
        assert.ok(storeBytes > 3.3 * GIB, `filesystem of ${storeBytes} bytes`);
        await ok(m, "echo gone > /root/scratch && sync");
        await m.reboot();
        await m.login("root", PASSWORD);
        assert.equal((await m.exec("test -e /root/scratch")).status, 1);
      });
    });

    it("gpt + bios + persistent: a file written at runtime survives a reboot", async () => {
      await withMachine(image("persistent"), { boot: "bios" }, async (m) => {
        assert.equal((await ok(m, "cat /run/strata/root")).trim(), "persistent");
        await ok(m, "echo kept > /root/kept && sync");
        await m.reboot();
        await m.login("root", PASSWORD);
        assert.equal((await ok(m, "cat /root/kept")).trim(), "kept");
      });
    });

    it("mbr + bios + btrfs + flat: boots to login on a classic btrfs root", async () => {
      await withMachine(image("flat"), { boot: "bios" }, async (m) => {
        assert.equal((await ok(m, "findmnt -n -o FSTYPE /")).trim(), "btrfs");
        assert.equal((await ok(m, "cat /etc/strata-example")).trim(), "from the system layer");
        assert.equal((await m.exec("test -e /etc/issue.net")).status, 1);
        // A classic root: strata wrote its fstab and put the initramfs beside the kernel.
        assert.match(await ok(m, "cat /etc/fstab"), /^LABEL=strata-root \/ btrfs /m);
        await ok(m, 'test -s "/boot/initrd.img-$(uname -r)"');
      });
    });
  });
});
