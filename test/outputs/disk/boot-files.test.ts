/**
 * extractBootFiles on a real tree shaped like a boot layer's stack: a kernel reached through a
 * symlink inside the tree works; a kernel, initramfs or boot loader that is a symlink to a
 * host file (absolute, or `../` relative) or a /boot that is a symlink to a host directory
 * fails with an error naming the file, and no host byte reaches the ESP staging directory.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { StrataError } from "../../../src/errors.js";
import { extractBootFiles } from "../../../src/outputs/disk/boot-files.js";
import { GRUB_CORE } from "../../../src/outputs/disk/boot-layer.js";
import { DiskOutput } from "../../../src/outputs/disk/schema.js";
import { tempDir } from "../../helpers.js";

const uefi = DiskOutput.parse({ type: "disk" });
const bios = DiskOutput.parse({ type: "disk", boot: "bios" });
const EFI = "usr/lib/systemd/boot/efi/systemd-bootx64.efi";
const SECRET = "HOST-SECRET id_ed25519\n";

describe("extractBootFiles", () => {
  let root: string;
  let host: string;
  let staging: string;
  let secret: string;
  const put = (rel: string, content: string) => {
    mkdirSync(join(root, rel, ".."), { recursive: true });
    rmSync(join(root, rel), { force: true }); // a symlink put there by a test: not written through
    writeFileSync(join(root, rel), content);
  };
  const link = (target: string, rel: string) => {
    rmSync(join(root, rel), { recursive: true, force: true });
    mkdirSync(join(root, rel, ".."), { recursive: true });
    symlinkSync(target, join(root, rel));
  };
  /** Every byte written to the staging directory: none may come from the host file. */
  const staged = () =>
    readdirSync(staging)
      .map((f) => readFileSync(join(staging, f), "utf8"))
      .join("");
  const layerError = (file: string) => (e: unknown) =>
    e instanceof StrataError && e.code === "E_LAYER_FILE" && e.message.startsWith(`${file} `);

  beforeEach(() => {
    root = tempDir("strata-boot-root-");
    host = tempDir("strata-host-");
    staging = join(tempDir("strata-staging-"), "boot");
    secret = join(host, "id_ed25519");
    writeFileSync(secret, SECRET);
    put("boot/real-kernel", "KERNEL\n");
    link("/boot/real-kernel", "boot/vmlinuz-6.12.9-amd64");
    put("boot/initrd.img-6.12.9-amd64", "INITRD\n");
    put(EFI, "SYSTEMD-BOOT\n");
    put("usr/lib/grub/i386-pc/boot.img", "BOOTIMG\n");
    put(GRUB_CORE, "COREIMG\n");
  });
  afterEach(() => {
    for (const d of [root, host, join(staging, "..")]) rmSync(d, { recursive: true, force: true });
  });

  it("copies the files, following symlinks inside the tree", () => {
    const f = extractBootFiles(root, uefi, "amd64", staging);
    assert.equal(f.kernelVersion, "6.12.9-amd64");
    assert.equal(readFileSync(f.vmlinuz, "utf8"), "KERNEL\n");
    assert.equal(readFileSync(f.initrd, "utf8"), "INITRD\n");
    assert.equal(readFileSync(f.efi as string, "utf8"), "SYSTEMD-BOOT\n");
    const g = extractBootFiles(root, bios, "amd64", staging);
    assert.equal(readFileSync(g.grubCore as string, "utf8"), "COREIMG\n");
  });

  it("never copies a host file a kernel symlink names", () => {
    link(secret, "boot/vmlinuz-6.12.9-amd64");
    assert.throws(
      () => extractBootFiles(root, uefi, "amd64", staging),
      layerError("/boot/vmlinuz-6.12.9-amd64"),
    );
    link(`../../../../../../../..${secret}`, "boot/vmlinuz-6.12.9-amd64");
    assert.throws(
      () => extractBootFiles(root, uefi, "amd64", staging),
      layerError("/boot/vmlinuz-6.12.9-amd64"),
    );
    assert.ok(!staged().includes("HOST-SECRET"));
  });

  it("never copies a host file as the initramfs or the boot loader", () => {
    link(secret, "boot/initrd.img-6.12.9-amd64");
    assert.throws(
      () => extractBootFiles(root, uefi, "amd64", staging),
      layerError("/boot/initrd.img-6.12.9-amd64"),
    );
    put("boot/initrd.img-6.12.9-amd64", "INITRD\n");
    link(secret, EFI);
    assert.throws(() => extractBootFiles(root, uefi, "amd64", staging), layerError(`/${EFI}`));
    link(`../../../../../../../..${secret}`, GRUB_CORE);
    assert.throws(() => extractBootFiles(root, bios, "amd64", staging), layerError(GRUB_CORE));
    assert.ok(!staged().includes("HOST-SECRET"));
    assert.equal(readFileSync(secret, "utf8"), SECRET);
  });

  it("reads the image's own file where a symlink names a host path", () => {
    // `-> /etc/shadow` reads the image's /etc/shadow, not the host's.
    put(secret.slice(1), "IMAGE'S OWN FILE\n");
    link(secret, EFI);
    const f = extractBootFiles(root, uefi, "amd64", staging);
    assert.equal(readFileSync(f.efi as string, "utf8"), "IMAGE'S OWN FILE\n");
  });

  it("finds no kernel in a /boot that is a symlink to a host directory", () => {
    const hostBoot = join(host, "boot");
    mkdirSync(hostBoot);
    writeFileSync(join(hostBoot, "vmlinuz-9.9.9"), SECRET);
    writeFileSync(join(hostBoot, "initrd.img-9.9.9"), SECRET);
    link(hostBoot, "boot");
    assert.throws(
      () => extractBootFiles(root, uefi, "amd64", staging),
      (e) => e instanceof StrataError && e.code === "E_NO_KERNEL",
    );
    assert.ok(!staged().includes("HOST-SECRET"));
  });

  it("refuses a kernel that is a FIFO instead of hanging on it", () => {
    rmSync(join(root, "boot/vmlinuz-6.12.9-amd64"));
    execFileSync("mkfifo", [join(root, "boot/vmlinuz-6.12.9-amd64")]);
    assert.throws(
      () => extractBootFiles(root, uefi, "amd64", staging),
      layerError("/boot/vmlinuz-6.12.9-amd64"),
    );
  });
});
