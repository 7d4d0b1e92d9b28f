/**
 * Netboot and live outputs, proved by booting them in QEMU (TCG): the netboot directory booted
 * with a direct kernel boot and with a real PXE boot (SeaBIOS, the NIC's iPXE ROM, QEMU's
 * TFTP, then HTTP from strata's server), and the live directory's three files. One build makes
 * both from the same cached layers as examples/disk and the disk tests; the three boots run
 * at once. The recipe has `update:`, so the build signs the netboot manifest with its key and
 * the initramfs boots only with that signature good. Bad outputs are refused at validation,
 * and a build without the key before anything is built.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { BuildResult } from "../../src/build/build.js";
import { bootMachine, type Machine } from "../../src/vm/machine.js";
import { liveBoot, netbootBoot, type RamBoot } from "../../src/vm/ram-boot.js";
import { generateKey, verifySignature } from "../../src/update/keys.js";
import { exampleWith } from "../example-recipe.js";
import { ok, whileLoggedIn } from "./machine-helpers.js";
import {
  buildWithCli,
  cli,
  mountsUnder,
  needsRoot,
  TEST_CACHE,
  tempDir,
  writeRecipe,
  NO_KERNEL_LAYERS,
} from "../helpers.js";

process.env.STRATA_ACCEL ??= "tcg";

/** Boots `rb`, logs in as root, runs `fn`, and always stops QEMU and the server. */
async function withRamMachine(rb: RamBoot, fn: (m: Machine) => Promise<void>): Promise<void> {
  try {
    await whileLoggedIn(await bootMachine(rb.launch), fn);
  } finally {
    await rb.close();
  }
}

describe("netboot and live outputs", { skip: needsRoot }, () => {
  let out: string;
  let recipeDir: string;
  let result: BuildResult;
  const netboot = () => join(out, "net.netboot");
  const live = () => join(out, "live.live");
  const layerDigests = () =>
    result.layers.filter((l) => l.file).map((l) => l.digest.replace(/^sha256:/, ""));

  const keyring = () => join(recipeDir, "keys/update.pub");

  before(async () => {
    out = tempDir("strata-out-");
    recipeDir = tempDir("strata-recipe-");
    exampleWith(
      recipeDir,
      [
        '{ type: netboot, name: net, url: "http://${server}/kiosk/" }',
        "{ type: live, name: live }",
      ],
      {
        edit: (yaml) =>
          `${yaml.replace(/^vars:\n/m, "vars:\n  server: 10.0.2.2:8080\n")}` +
          'update: { url: "http://${server}/updates", keyring: keys/update.pub }\n',
      },
    );
    await generateKey(join(recipeDir, "keys/update"), "netboot test");
    result = buildWithCli(recipeDir, out, [
      "--key",
      join(recipeDir, "keys/update.key"),
      "--set",
      "server=boot.example:8080",
    ]);
  });
  after(() => {
    rmSync(out, { recursive: true, force: true });
    rmSync(recipeDir, { recursive: true, force: true });
  });

  it("writes a netboot directory in an update repository's layout, signed, its iPXE script naming `url`", async () => {
    const dir = netboot();
    assert.deepEqual(readdirSync(dir).sort(), [
      "boot",
      "boot.ipxe",
      "layers",
      "netboot.json",
      "versions",
    ]);
    // The layers are the recipe's own modules, by digest; the boot layer only lends the kernel.
    assert.deepEqual(
      readdirSync(join(dir, "layers")).sort(),
      layerDigests()
        .map((d) => `${d}.sqfs`)
        .sort(),
    );
    const manifest = JSON.parse(readFileSync(join(dir, "versions/1/manifest.json"), "utf8"));
    // Signed by the build's key, which the recipe's keyring trusts.
    assert.deepEqual(readdirSync(join(dir, "versions/1")).sort(), [
      "manifest.json",
      "manifest.json.sig",
    ]);
    await verifySignature(keyring(), join(dir, "versions/1/manifest.json"));
    assert.deepEqual(
      manifest.layers.map((l: { digest: string }) => l.digest),
      layerDigests(),
    );
    const sidecar = JSON.parse(readFileSync(join(dir, "netboot.json"), "utf8"));
    assert.equal(sidecar.url, "http://boot.example:8080/kiosk");
    assert.equal(sidecar.signed, true);
    assert.equal(
      sidecar.layerBytes,
      manifest.layers.reduce((n: number, l: { bytes: number }) => n + l.bytes, 0),
    );
    assert.ok(sidecar.ramMiB >= sidecar.layerBytes / 1048576 + 256, `${sidecar.ramMiB} MiB`);
    const ipxe = readFileSync(join(dir, "boot.ipxe"), "utf8");
    assert.match(ipxe, /^#!ipxe\n/);
    assert.ok(ipxe.includes(`kernel http://boot.example:8080/kiosk/${sidecar.vmlinuz} `), ipxe);
    assert.ok(
      ipxe.includes(`initrd --name initrd.img http://boot.example:8080/kiosk/${sidecar.initrd}`),
    );
    assert.match(
      ipxe,
      / strata\.fetch=http:\/\/boot\.example:8080\/kiosk strata\.root=immutable ip=dhcp /,
    );
    for (const f of ["vmlinuz", "initrd"] as const) {
      assert.equal(statSync(join(dir, sidecar[f])).size, manifest[f].bytes);
    }
    // Both outputs share one boot layer (no boot loader), on the kernel's layer.
    const boot = result.layers.filter((l) => l.addedBy);
    assert.deepEqual(
      boot.map((l) => [l.name, l.parent]),
      [["base.boot-ram", "base"]],
    );
    assert.deepEqual(mountsUnder(TEST_CACHE), []);
  });

  it("writes a live directory of three files: kernel, initramfs and the layers merged", () => {
    const dir = live();
    assert.deepEqual(readdirSync(dir).sort(), ["initrd.img", "live.json", "root.sqfs", "vmlinuz"]);
    const sidecar = JSON.parse(readFileSync(join(dir, "live.json"), "utf8"));
    assert.match(sidecar.cmdline, /^boot=strata strata\.live=auto strata\.root=immutable /);
    assert.equal(sidecar.rootBytes, statSync(join(dir, "root.sqfs")).size);
    assert.deepEqual(
      readFileSync(join(dir, "initrd.img")),
      readFileSync(
        join(netboot(), JSON.parse(readFileSync(join(netboot(), "netboot.json"), "utf8")).initrd),
      ),
    );
  });

  it("refuses, before building, a netboot or live output without a kernel and an https netboot url", () => {
    const recipe = writeRecipe(`${NO_KERNEL_LAYERS}outputs:
  - { type: netboot, url: "http://10.0.0.1/" }
  - { type: live }
  - { type: netboot, name: tls, url: "https://10.0.0.1/", layer: base }
`);
    const r = cli(["build", recipe, "--cache-dir", TEST_CACHE, "--out", tempDir("strata-out-")]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /E_RECIPE_INVALID/);
    assert.match(
      r.stderr,
      /outputs\[0\]\.type.*a netboot output boots a kernel, and no layer of its stack \(base → app\) installs one/,
    );
    assert.match(r.stderr, /outputs\[1\]\.type.*a live output boots a kernel/);
    assert.match(r.stderr, /outputs\[2\]\.url.*an http:\/\/ URL/);
    assert.match(r.stderr, /hint: add linux-image-amd64/);
    // Nothing was bootstrapped for it.
    assert.doesNotMatch(r.stderr, /bootstrap/i);
  });

  it("refuses to build the netboot output of a recipe with `update:` without its key, or with another", async () => {
    const other = tempDir("strata-keys-");
    await generateKey(join(other, "other"), "other");
    for (const key of [[], ["--key", join(other, "other.key")]]) {
      const empty = tempDir("strata-out-");
      const r = cli(["build", recipeDir, "--cache-dir", TEST_CACHE, "--out", empty, ...key]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        key.length === 0
          ? /E_KEY.*outputs\[0\] \(netboot 'net'\) of recipe 'disk' must be signed[\s\S]*hint: build with --key/
          : /E_KEY.*other\.key does not sign for the recipe's keyring/,
      );
      assert.doesNotMatch(r.stderr, /bootstrap|layer /i);
      assert.deepEqual(
        readdirSync(empty).filter((f) => !f.startsWith(".")),
        [],
      );
      rmSync(empty, { recursive: true, force: true });
    }
    rmSync(other, { recursive: true, force: true });
  });

  describe("boots", { concurrency: true }, () => {
    it("netboot, direct kernel boot: the layers come over HTTP into RAM, each once, and are the root", async () => {
      const rb = await netbootBoot(netboot());
      await withRamMachine(rb, async (m) => {
        assert.match(await ok(m, "findmnt -n -o FSTYPE /"), /^overlay/m);
        assert.equal((await ok(m, "cat /etc/strata-example")).trim(), "from the system layer");
        assert.equal((await m.exec("test -e /etc/issue.net")).status, 1);
        // No disk: the store is a tmpfs holding the layers the manifest names.
        assert.match(await ok(m, "findmnt -n -o FSTYPE /run/strata/store"), /^tmpfs/m);
        assert.equal((await m.exec("ls /dev/vda")).status, 2);
        const stored = await ok(m, "cd /run/strata/store/layers && sha256sum *.sqfs");
        for (const d of layerDigests())
          assert.match(stored, new RegExp(`^${d}  ${d}\\.sqfs$`, "m"));
        assert.match(await ok(m, "cat /proc/cmdline"), /strata\.fetch=http:\/\/10\.0\.2\.2:\d+ /);
        // The initramfs checked the manifest's signature with the keyring it carries.
        assert.match(
          m.output,
          /strata: http:\S+\/versions\/1\/manifest\.json has a good signature by the update keyring/,
        );
        await ok(m, "test -s /run/strata/store/versions/1/manifest.json.sig");
        // What the server sent: each layer once, and the manifest.
        const layerBytes = result.layers.filter((l) => l.file).reduce((n, l) => n + l.bytes, 0);
        const sent = rb.server?.stats().bytes ?? 0;
        assert.ok(sent >= layerBytes && sent < layerBytes + 64 * 1024, `${sent} vs ${layerBytes}`);
      });
    });

    it("PXE: SeaBIOS's iPXE ROM takes boot.ipxe over TFTP, then the kernel and initramfs over HTTP", async () => {
      const log = join(out, "pxe-requests.jsonl");
      const rb = await netbootBoot(netboot(), { pxe: true, log });
      await withRamMachine(rb, async (m) => {
        assert.equal((await ok(m, "cat /etc/strata-example")).trim(), "from the system layer");
        // QEMU loads no kernel: the NIC's ROM boots, and iPXE's command line names the
        // initramfs it fetched (SeaBIOS and iPXE write to the screen, not the serial port).
        assert.ok(m.argv.includes("order=n") && !m.argv.includes("-kernel"), m.argv.join(" "));
        assert.match(await ok(m, "cat /proc/cmdline"), /^initrd=initrd\.img boot=strata /);
      });
      const sidecar = JSON.parse(readFileSync(join(netboot(), "netboot.json"), "utf8"));
      const paths = readFileSync(log, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { path: string; status: number });
      const signed = ["versions/1/manifest.json", "versions/1/manifest.json.sig"];
      for (const f of [sidecar.vmlinuz, sidecar.initrd, ...signed]) {
        assert.ok(
          paths.some((p) => p.path === `/${f}` && p.status === 200),
          `GET /${f}`,
        );
      }
    });

    it("live: QEMU loads the kernel and initramfs, which find root.sqfs on a disk and stack it", async () => {
      await withRamMachine(liveBoot(live()), async (m) => {
        assert.match(await ok(m, "findmnt -n -o FSTYPE /"), /^overlay/m);
        assert.equal((await ok(m, "cat /etc/strata-example")).trim(), "from the system layer");
        // Merged: what the system layer deleted is not in the squashfs at all.
        assert.equal((await m.exec("test -e /run/strata/layers/1/etc/issue.net")).status, 1);
        assert.match(await ok(m, "findmnt -n -o FSTYPE /run/strata/layers/1"), /^squashfs/m);
        assert.equal((await ok(m, "cat /run/strata/version")).trim(), "live");
        // Changes live in RAM.
        await ok(m, "echo changed > /etc/strata-example");
        assert.match(await ok(m, "findmnt -n -o FSTYPE /run/strata/overlay"), /^tmpfs/m);
      });
    });
  });
});
