/** Booting live and netboot directories: reading their sidecars into QEMU launch options. */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { StrataError } from "../../src/errors.js";
import {
  GUEST_HOST,
  isLiveDir,
  isNetbootDir,
  liveBoot,
  netbootBoot,
} from "../../src/vm/ram-boot.js";
import { tempDir } from "../helpers.js";

const LIVE_CMDLINE = "boot=strata strata.live=auto strata.root=immutable console=ttyS0,115200";

function liveDir(sidecar: Record<string, unknown> = {}): string {
  const dir = tempDir("strata-live-");
  const live = {
    format: "strata-live/1",
    arch: "amd64",
    recipe: "kiosk",
    kernel: "6.1.0-9-amd64",
    cmdline: LIVE_CMDLINE,
    console: "ttyS0",
    rootBytes: 123456,
    ...sidecar,
  };
  writeFileSync(join(dir, "live.json"), `${JSON.stringify(live)}\n`);
  return dir;
}

const NETBOOT_CMDLINE =
  "boot=strata strata.version=1 strata.fetch=http://10.0.0.1:8080/kiosk strata.root=immutable ip=dhcp console=ttyS0,115200";

function netbootDir(sidecar: Record<string, unknown> = {}): string {
  const dir = tempDir("strata-netboot-");
  mkdirSync(join(dir, "boot"));
  writeFileSync(join(dir, "boot", "kkkk"), "kernel");
  writeFileSync(join(dir, "boot", "iiii"), "initramfs");
  const netboot = {
    format: "strata-netboot/1",
    arch: "amd64",
    recipe: "kiosk",
    url: "http://10.0.0.1:8080/kiosk",
    vmlinuz: "boot/kkkk",
    initrd: "boot/iiii",
    cmdline: NETBOOT_CMDLINE,
    console: "ttyS0",
    layerBytes: 1000,
    ramMiB: 320,
    ...sidecar,
  };
  writeFileSync(join(dir, "netboot.json"), `${JSON.stringify(netboot)}\n`);
  return dir;
}

const usage = (e: unknown) => e instanceof StrataError && e.code === "E_USAGE";

describe("isLiveDir and isNetbootDir", () => {
  it("tell the directories apart by their sidecar", () => {
    const live = liveDir();
    const netboot = netbootDir();
    const empty = tempDir();
    assert.equal(isLiveDir(live), true);
    assert.equal(isNetbootDir(live), false);
    assert.equal(isNetbootDir(netboot), true);
    assert.equal(isLiveDir(netboot), false);
    assert.equal(isLiveDir(empty), false);
    assert.equal(isNetbootDir(empty), false);
    assert.equal(isLiveDir(join(empty, "missing")), false);
  });
});

describe("liveBoot", () => {
  it("boots the directory's kernel and initramfs, with root.sqfs as a read-only disk", () => {
    const dir = liveDir({ arch: "arm64", console: "ttyAMA0" });
    const b = liveBoot(dir);
    assert.equal(b.arch, "arm64");
    assert.equal(b.console, "ttyAMA0");
    assert.equal(b.launch.arch, "arm64");
    assert.equal(b.launch.boot, "bios");
    assert.deepEqual(b.launch.kernel, {
      path: join(dir, "vmlinuz"),
      initrd: join(dir, "initrd.img"),
      append: LIVE_CMDLINE,
    });
    assert.deepEqual(b.launch.drives, [{ path: join(dir, "root.sqfs"), readonly: true }]);
    assert.equal(b.launch.pxe, undefined);
    assert.equal(b.server, undefined);
  });

  it("takes a relative path and gives absolute ones", async () => {
    const dir = liveDir();
    const b = liveBoot(join(dir, "..", dir.split("/").at(-1) as string));
    assert.equal(b.launch.kernel?.path, join(dir, "vmlinuz"));
    await b.close();
  });

  it("refuses a directory without live.json, or with one of another format", () => {
    const empty = tempDir();
    assert.throws(
      () => liveBoot(empty),
      (e) => usage(e) && /live\.json is missing/.test((e as Error).message),
    );
    assert.throws(() => liveBoot(netbootDir()), usage);
    assert.throws(() => liveBoot(liveDir({ format: "strata-live/2" })), usage);
    assert.throws(() => liveBoot(liveDir({ arch: "armhf" })), usage);
  });
});

describe("netbootBoot", () => {
  it("serves the directory and points strata.fetch= at its own server", async () => {
    const dir = netbootDir();
    const b = await netbootBoot(dir);
    try {
      const port = b.server?.port;
      assert.ok(typeof port === "number" && port > 0, String(port));
      const append = b.launch.kernel?.append ?? "";
      const fetchWords = append.split(" ").filter((w) => w.startsWith("strata.fetch="));
      assert.deepEqual(fetchWords, [`strata.fetch=http://${GUEST_HOST}:${port}`]);
      assert.equal(GUEST_HOST, "10.0.2.2");
      // Only strata.fetch= changes.
      assert.equal(
        append,
        NETBOOT_CMDLINE.replace(
          "strata.fetch=http://10.0.0.1:8080/kiosk",
          `strata.fetch=http://10.0.2.2:${port}`,
        ),
      );
      assert.equal(b.launch.kernel?.path, join(dir, "boot", "kkkk"));
      assert.equal(b.launch.kernel?.initrd, join(dir, "boot", "iiii"));
      assert.equal(b.launch.memoryMiB, 1024, "at least 1 GiB");
      assert.equal(b.launch.pxe, undefined);
      // The guest's 10.0.2.2 is the host's loopback: the server answers there.
      const res = await fetch(`http://127.0.0.1:${port}/boot/kkkk`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "kernel");
    } finally {
      await b.close();
    }
  });

  it("asks for the RAM the sidecar names when that is more than 1 GiB", async () => {
    const b = await netbootBoot(netbootDir({ ramMiB: 2112 }));
    try {
      assert.equal(b.launch.memoryMiB, 2112);
    } finally {
      await b.close();
    }
  });

  it("hands a PXE boot a boot.ipxe for its own server over TFTP", async () => {
    const b = await netbootBoot(netbootDir(), { pxe: true });
    let tftp: string | undefined;
    try {
      const port = b.server?.port as number;
      assert.equal(b.launch.kernel, undefined);
      assert.equal(b.launch.pxe?.bootfile, "boot.ipxe");
      tftp = b.launch.pxe?.tftp as string;
      const script = readFileSync(join(tftp, "boot.ipxe"), "utf8");
      assert.match(script, /^#!ipxe\n/);
      const url = `http://10.0.2.2:${port}`;
      assert.ok(script.includes(`kernel ${url}/boot/kkkk initrd=initrd.img `), script);
      assert.ok(script.includes(`initrd --name initrd.img ${url}/boot/iiii`), script);
      assert.ok(script.includes(`strata.fetch=${url} `), script);
      assert.ok(!script.includes("10.0.0.1"), script);
    } finally {
      await b.close();
    }
    assert.equal(existsSync(tftp), false, "close() removes the TFTP directory");
  });

  it("refuses a directory without netboot.json", async () => {
    await assert.rejects(netbootBoot(tempDir()), (e) => usage(e));
    await assert.rejects(netbootBoot(liveDir()), (e) => usage(e));
  });
});
