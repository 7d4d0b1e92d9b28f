/**
 * strata_make_persistence (assets/initramfs-tools/scripts/strata-functions), run on the host
 * with dash (klibc's sh is dash's) and the host's util-linux and e2fsprogs, on a loop device:
 * a stick an image was written to, larger than the image, gets a partition after the last
 * one, with an ext4 filesystem of the label, and a GPT's backup header moves to the stick's
 * end; a stick without room, without a partition table, and a CD are left alone.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { needsRoot, ROOT, tempDir } from "../helpers.js";

const FUNCTIONS = join(ROOT, "assets/initramfs-tools/scripts/strata-functions");
const MIB = 1024 * 1024;
const LABEL = "strata-persist";

const text = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

describe("strata_make_persistence", { skip: needsRoot }, () => {
  let dir: string;
  let bin: string;

  before(() => {
    dir = tempDir("strata-persist-");
    bin = join(dir, "bin");
    mkdirSync(bin);
    for (const tool of ["sfdisk", "partx", "mke2fs"]) {
      symlinkSync(text("sh", ["-c", `command -v ${tool}`]).trim(), join(bin, tool));
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A file holding `table` (sfdisk input) at `imageMiB`, then grown to `stickMiB`. */
  function stick(name: string, table: string | undefined, imageMiB: number, stickMiB: number) {
    const file = join(dir, name);
    writeFileSync(file, "");
    truncateSync(file, imageMiB * MIB);
    if (table !== undefined) text("sh", ["-c", `echo '${table}' | sfdisk -q "${file}"`]);
    truncateSync(file, stickMiB * MIB);
    return file;
  }

  /** Runs the function on `file` on a loop device; returns its output and status. */
  function onLoop(
    file: string,
    check: (loop: string, r: { code: number; dev: string; out: string }) => void,
  ) {
    const loop = text("losetup", ["--find", "--show", file]).trim();
    try {
      const r = spawnSync(
        "dash",
        [
          "-c",
          `. "${FUNCTIONS}"; STRATA_BIN=${bin}; strata_make_persistence "$1" ${LABEL}`,
          "sh",
          loop,
        ],
        {
          encoding: "utf8",
          env: { PATH: process.env.PATH, STRATA_RUN: join(dir, "run") },
        },
      );
      // The device on stdout; what it did, on stderr (the console).
      check(loop, { code: r.status ?? -1, dev: r.stdout.trim(), out: `${r.stdout}${r.stderr}` });
    } finally {
      spawnSync("partx", ["-d", loop]);
      execFileSync("losetup", ["-d", loop]);
    }
  }

  it("adds an ext4 partition with the label after the image on a larger GPT stick", () => {
    // As xorriso writes an ISO: partitions up to the end, the backup header in its last sectors.
    const file = stick(
      "gpt.img",
      "label: gpt\nfirst-lba: 64\nstart=64, size=8192\nstart=8256, size=90000",
      48,
      160,
    );
    onLoop(file, (loop, r) => {
      assert.equal(r.code, 0, r.out);
      const dev = r.dev;
      assert.equal(dev, `${loop}p3`, r.out);
      assert.match(r.out, /making a partition for the changes on \/dev\/loop\d+ \(\d+ MiB\)/);
      assert.equal(text("blkid", ["-p", "-o", "value", "-s", "LABEL", dev]).trim(), LABEL);
      assert.equal(text("blkid", ["-p", "-o", "value", "-s", "TYPE", dev]).trim(), "ext4");
    });
    const dump = text("sfdisk", ["--dump", file]);
    const third = /gpt\.img3 : start=\s*(\d+), size=\s*(\d+),.*name="strata-persist"/.exec(dump);
    assert.ok(third, dump);
    const start = Number(third[1]);
    assert.equal(start % 2048, 0, "aligned to 1 MiB");
    assert.ok(start >= 8256 + 90000 + 33, `after the old backup header: ${start}`);
    // The backup header is at the stick's end now, and the partition reaches it (sfdisk ends
    // it on a MiB boundary).
    const lastLba = Number(/last-lba: (\d+)/.exec(dump)?.[1]);
    assert.equal(lastLba, 160 * 2048 - 34);
    const end = start + Number(third[2]) - 1;
    assert.ok(end <= lastLba && lastLba - end < 2048, `ends at ${end}, the table at ${lastLba}`);
  });

  it("adds one on an MBR stick too", () => {
    const file = stick("dos.img", "label: dos\nstart=2048, size=40000, type=83", 24, 120);
    onLoop(file, (loop, r) => {
      assert.equal(r.code, 0, r.out);
      assert.equal(r.dev, `${loop}p2`, r.out);
    });
    assert.match(text("sfdisk", ["--dump", file]), /dos\.img2 : start=\s*43008, size=\s*202752/);
  });

  it("leaves a stick without room, one without a partition table, and a CD alone", () => {
    const full = stick("full.img", "label: gpt\nstart=2048, size=40000", 24, 60);
    onLoop(full, (_loop, r) => {
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, /no room for persistence on \/dev\/loop\d+ after the ISO/);
    });
    assert.equal(text("sfdisk", ["--dump", full]).match(/full\.img\d/g)?.length, 1);
    onLoop(stick("bare.img", undefined, 8, 200), (_loop, r) => {
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, /has no partition table: the changes stay in RAM/);
    });
    const cd = spawnSync("dash", ["-c", `. "${FUNCTIONS}"; strata_make_persistence /dev/sr0 x`], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, STRATA_RUN: join(dir, "run") },
    });
    assert.equal(cd.status, 1);
    assert.match(cd.stderr, /the medium \/dev\/sr0 is a CD: the changes stay in RAM/);
  });
});
