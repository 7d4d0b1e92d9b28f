/** The offline device checker finds what would not boot, on UEFI and BIOS layouts. */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { checkDevice, deviceFromRepo } from "../../src/update/device.js";
import { RELEASE_FORMAT, serializeManifest } from "../../src/update/manifest.js";
import { randomFile, tempDir } from "../helpers.js";

const repo = tempDir("strata-device-repo-");
const devices = tempDir("strata-devices-");
after(() => {
  rmSync(repo, { recursive: true, force: true });
  rmSync(devices, { recursive: true, force: true });
});

/** A file of random bytes in the repository at `dir/<sha256><ext>`. */
function put(dir: string, bytes: number, ext = "") {
  mkdirSync(join(repo, dir), { recursive: true });
  const { file, digest } = randomFile(join(repo, dir), "new", bytes);
  renameSync(file, join(repo, dir, `${digest}${ext}`));
  return { digest, bytes };
}

const layers = [
  { name: "base", ...put("layers", 4096, ".sqfs") },
  { name: "app", ...put("layers", 1024, ".sqfs") },
];
mkdirSync(join(repo, "versions/1"), { recursive: true });
writeFileSync(
  join(repo, "versions/1/manifest.json"),
  serializeManifest({
    format: RELEASE_FORMAT,
    recipe: "kiosk",
    arch: "amd64",
    version: 1,
    root: "immutable",
    kernel: "6.12",
    cmdline: "boot=strata strata.version=1 panic=10",
    vmlinuz: put("boot", 2048),
    initrd: put("boot", 3072),
    layers,
  }),
);

let n = 0;
const fresh = (boot: "uefi" | "bios") => deviceFromRepo(repo, 1, join(devices, `${n++}`), boot);

describe("checkDevice", () => {
  for (const boot of ["uefi", "bios"] as const) {
    it(`${boot}: a fresh device is whole; a damaged layer, a missing boot file are found`, () => {
      const d = fresh(boot);
      assert.deepEqual(checkDevice(d), []);
      const layer = join(d.store, "layers", `${layers[1]?.digest}.sqfs`);
      writeFileSync(layer, "damaged");
      assert.deepEqual(checkDevice(d).length, boot === "bios" ? 2 : 1, checkDevice(d).join("\n"));
      assert.match(checkDevice(d)[0] ?? "", /layer [0-9a-f]{64} is missing or damaged/);

      const e = fresh(boot);
      const bootDir = boot === "uefi" ? join(e.esp as string, "strata") : join(e.store, "boot");
      const entry = readFileSync(
        join(
          boot === "uefi"
            ? join(e.esp as string, "loader/entries")
            : join(e.store, "update/entries"),
          "strata-1.conf",
        ),
        "utf8",
      );
      const vmlinuz = /^linux \S+\/([0-9a-f]{64})$/m.exec(entry)?.[1] as string;
      rmSync(join(bootDir, vmlinuz));
      assert.match(checkDevice(e).join("\n"), /boot file \S+ is missing or damaged/);
    });
  }

  it("uefi: an entry for a version the store lacks, and no good entry", () => {
    const d = fresh("uefi");
    const entries = join(d.esp as string, "loader/entries");
    const text = readFileSync(join(entries, "strata-1.conf"), "utf8");
    rmSync(join(entries, "strata-1.conf"));
    writeFileSync(
      join(entries, "strata-2+3.conf"),
      text.replace("strata.version=1", "strata.version=2"),
    );
    assert.deepEqual(checkDevice(d), [
      "no entry is known good",
      "strata-2+3.conf: versions/2/layers is missing",
    ]);
  });

  it("bios: a grub.cfg whose default is not one of its entries, or that boots the wrong version", () => {
    const d = fresh("bios");
    const cfg = join(d.store, "boot/grub/grub.cfg");
    const text = readFileSync(cfg, "utf8");
    writeFileSync(cfg, text.replace("set default=strata-1", "set default=strata-7"));
    assert.deepEqual(checkDevice(d), ["grub.cfg: its default strata-7 is not one of its entries"]);
    writeFileSync(cfg, text.replace(" strata.version=1", " strata.version=3"));
    assert.deepEqual(checkDevice(d), ["grub.cfg strata-1: its options do not boot version 1"]);
  });
});
