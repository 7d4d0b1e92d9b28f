/** What the outputs that boot into RAM share: their command line, boot layer, and RAM. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { StrataError } from "../../src/errors.js";
import { netbootRamMiB } from "../../src/outputs/netboot/index.js";
import {
  RAM_BOOT_PACKAGES,
  RAM_BOOT_VERIFIER,
  ramBootLayer,
  ramBootLayers,
  ramBootSteps,
  ramCmdline,
} from "../../src/outputs/ram-boot.js";
import type { ResolvedLayer } from "../../src/recipe/graph.js";
import { Recipe } from "../../src/recipe/schema.js";
import { systemLayer } from "./fixtures.js";

const MIB = 1024 * 1024;

const top = systemLayer;

describe("ramCmdline", () => {
  const fetch = ["strata.version=1", "strata.fetch=http://h/x"];

  it("starts with boot=strata, then where the root comes from, then an immutable root", () => {
    const words = ramCmdline({ cmdline: "" }, "amd64", fetch, true).split(" ");
    assert.deepEqual(words.slice(0, 4), [
      "boot=strata",
      "strata.version=1",
      "strata.fetch=http://h/x",
      "strata.root=immutable",
    ]);
    const live = ramCmdline({ cmdline: "" }, "amd64", ["strata.live=auto"], false).split(" ");
    assert.deepEqual(live.slice(0, 3), [
      "boot=strata",
      "strata.live=auto",
      "strata.root=immutable",
    ]);
  });

  it("asks for DHCP only with a network and no ip= of the recipe's own", () => {
    const words = (cmdline: string, network: boolean) =>
      ramCmdline({ cmdline }, "amd64", fetch, network).split(" ");
    assert.ok(words("", true).includes("ip=dhcp"));
    assert.ok(!words("", false).some((w) => w.startsWith("ip=")));
    const own = "ip=10.0.0.5::10.0.0.1:255.255.255.0::eth0:off";
    assert.ok(!words(own, true).includes("ip=dhcp"));
    assert.equal(words(own, true).filter((w) => w.startsWith("ip=")).length, 1);
    assert.ok(!words(`quiet ${own}`, true).includes("ip=dhcp"));
    // A parameter that merely ends in ip= is not the recipe's own ip=.
    assert.ok(words("noip=1", true).includes("ip=dhcp"));
  });

  it("has the screen and the arch's serial port as consoles, the serial port primary", () => {
    const amd64 = ramCmdline({ cmdline: "" }, "amd64", fetch, true).split(" ");
    const cons = (ws: string[]) => ws.filter((w) => w.startsWith("console="));
    assert.deepEqual(cons(amd64), ["console=tty0", "console=ttyS0,115200"]);
    const arm64 = ramCmdline({ cmdline: "" }, "arm64", fetch, true).split(" ");
    assert.deepEqual(cons(arm64), ["console=tty0", "console=ttyAMA0,115200"]);
    assert.ok(!arm64.some((w) => w.startsWith("console=ttyS0")));
  });

  it("takes the recipe's consoles in its order, and its cmdline last", () => {
    const line = ramCmdline(
      { console: ["ttyS1,9600", "tty0"], cmdline: "quiet loglevel=3" },
      "amd64",
      ["strata.live=auto"],
      false,
    );
    assert.equal(
      line,
      "boot=strata strata.live=auto strata.root=immutable console=ttyS1,9600 console=tty0 quiet loglevel=3",
    );
    assert.ok(!line.includes("ttyS0"));
    // No empty word from an empty cmdline.
    assert.doesNotMatch(ramCmdline({ cmdline: "" }, "amd64", fetch, true), /\s$|\s\s/);
  });
});

const plainRecipe = Recipe.parse({ name: "t", layers: [{ name: "base", bootstrap: {} }] });
const updateRecipe = Recipe.parse({
  name: "t",
  layers: [{ name: "base", bootstrap: {} }],
  update: { url: "http://10.0.0.1/repo", keyring: "keys/update.pub" },
});

describe("ramBootSteps", () => {
  const steps = ramBootSteps(plainRecipe);

  it("installs initramfs-tools and busybox", () => {
    assert.ok(RAM_BOOT_PACKAGES.includes("initramfs-tools"));
    assert.ok(RAM_BOOT_PACKAGES.includes("busybox"));
    const packages = steps.flatMap((s) => s.packages ?? []);
    assert.ok(packages.includes("initramfs-tools"), JSON.stringify(packages));
    assert.ok(packages.includes("busybox"), JSON.stringify(packages));
    assert.ok(steps[0]?.packages !== undefined, "the packages come first");
  });

  it("writes the strata initramfs scripts", () => {
    const paths = steps.flatMap((s) => (s.write ? [s.write.path] : []));
    assert.ok(paths.includes("/usr/share/initramfs-tools/scripts/strata"), paths.join(" "));
    assert.ok(paths.includes("/usr/share/initramfs-tools/hooks/strata"), paths.join(" "));
    const script = steps.find((s) => s.write?.path.endsWith("scripts/strata"))?.write?.content;
    assert.match(script ?? "", /^mountroot\(\) \{/m);
  });

  it("ends with the initramfs run step", () => {
    const last = steps.at(-1);
    assert.ok(last?.run !== undefined && typeof last.run === "object", JSON.stringify(last));
    assert.equal(typeof last.run === "object" ? last.run.name : undefined, "initramfs");
    // No boot loader: netboot and live outputs boot without one.
    assert.doesNotMatch(JSON.stringify(steps), /grub-pc-bin|systemd-boot-efi/);
  });

  it("adds the update keyring and gpgv, before the initramfs is made, only with `update:`", () => {
    assert.deepEqual(steps[0]?.packages, RAM_BOOT_PACKAGES);
    assert.equal(
      steps.some((s) => s.copy !== undefined),
      false,
    );
    const signed = ramBootSteps(updateRecipe);
    assert.deepEqual(signed[0]?.packages, [...RAM_BOOT_PACKAGES, RAM_BOOT_VERIFIER]);
    const copy = signed.findIndex((s) => s.copy !== undefined);
    assert.deepEqual(signed[copy]?.copy, {
      from: "keys/update.pub",
      to: "/etc/strata/update-keyring.pgp",
      mode: "0644",
    });
    assert.equal(signed.at(-1)?.run && typeof signed.at(-1)?.run, "object");
    assert.ok(copy > 0 && copy < signed.length - 1, `${copy}`);
    // The hook copies that keyring and gpgv into the initramfs.
    const hook = signed.find((s) => s.write?.path.endsWith("hooks/strata"))?.write?.content;
    assert.match(hook ?? "", /\/etc\/strata\/update-keyring\.pgp/);
    assert.match(hook ?? "", /copy_exec "\$gpgv"/);
  });
});

describe("ramBootLayer", () => {
  it("sits on the given layer, named after it", () => {
    const l = ramBootLayer(top, plainRecipe);
    assert.equal(l.name, "system.boot-ram");
    assert.equal(l.parent, "system");
    assert.deepEqual(l.chain, ["base", "system", "system.boot-ram"]);
    assert.deepEqual(l.spec.steps, ramBootSteps(plainRecipe));
    assert.equal(l.steps.length, ramBootSteps(plainRecipe).length);
    assert.equal(
      ramBootLayer({ ...top, name: "app", chain: ["base", "app"] }, plainRecipe).name,
      "app.boot-ram",
    );
  });

  it("is built on the kernel's layer, and refuses to build without a kernel below", () => {
    const base: ResolvedLayer = {
      name: "base",
      index: 0,
      parent: undefined,
      chain: ["base"],
      spec: { name: "base", bootstrap: { variant: "minbase", packages: ["linux-image-amd64"] } },
      steps: [],
    };
    const ctx = {
      stack: [base, top],
      arch: "arm64",
      name: "kiosk",
      recipe: plainRecipe,
    };
    const [added] = ramBootLayers("netboot output", ctx);
    assert.equal(added?.layer.name, "base.boot-ram");
    assert.equal(added?.role, "boot");
    const kernel = { name: "linux-image-6.1.0-9-arm64", version: "6.1", arch: "arm64" };
    assert.doesNotThrow(() => added?.precondition?.([kernel]));
    assert.throws(
      () => added?.precondition?.([{ name: "bash", version: "5", arch: "arm64" }]),
      (e: StrataError) =>
        e.code === "E_NO_KERNEL" &&
        /netboot output 'kiosk'/.test(e.message) &&
        /base → system/.test(e.message) &&
        /linux-image-arm64/.test(e.hint ?? ""),
    );
  });
});

describe("netbootRamMiB", () => {
  it("rounds up to a multiple of 64 MiB", () => {
    for (const [layers, initrd] of [
      [0, 0],
      [1, 0],
      [100 * MIB, 10 * MIB],
      [MIB * 333 + 7, 12345],
    ] as const) {
      const mib = netbootRamMiB(layers, initrd);
      assert.equal(mib % 64, 0, `${layers} ${initrd}: ${mib}`);
      assert.ok(mib >= layers / MIB + (3 * initrd) / MIB + 256, `${layers} ${initrd}: ${mib}`);
      assert.ok(mib < layers / MIB + (3 * initrd) / MIB + 256 + 64 + 2, `${mib}`);
    }
    assert.equal(netbootRamMiB(0, 0), 256);
    assert.equal(netbootRamMiB(1, 0), 320);
    assert.equal(netbootRamMiB(100 * MIB, 10 * MIB), 448);
  });

  it("grows with the layers and with the initramfs", () => {
    assert.ok(netbootRamMiB(2048 * MIB, 0) > netbootRamMiB(1024 * MIB, 0));
    assert.equal(netbootRamMiB(2048 * MIB, 0) - netbootRamMiB(1024 * MIB, 0), 1024);
    assert.ok(netbootRamMiB(0, 100 * MIB) > netbootRamMiB(0, 10 * MIB));
  });
});
