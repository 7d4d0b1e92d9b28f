/**
 * Target checks against fake /sys, mountinfo and swaps trees: each refusal, without root.
 * (test/commands/flash.test.ts does the same on real loop devices.)
 */
import assert from "node:assert/strict";
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { StrataError } from "../../src/errors.js";
import {
  checkBlockDevice,
  inspectTarget,
  majorMinor,
  readMounts,
  type SystemPaths,
  systemDisks,
} from "../../src/flash/target.js";
import { tempDir } from "../helpers.js";

const root = tempDir("strata-target-");
after(() => rmSync(root, { recursive: true, force: true }));

interface FakeDisk {
  name: string;
  majmin: string;
  /** 512-byte sectors */
  size: number;
  partitions?: { name: string; majmin: string; size: number; holders?: string[] }[];
  holders?: string[];
  slaves?: string[];
  model?: string;
}

let trees = 0;
/** A fake system: sysfs with these disks; mounts as [major:minor, mount point, source]. */
function fakeSystem(
  disks: FakeDisk[],
  mounts: [string, string, string][] = [],
  swaps: string[] = [],
) {
  const dir = join(root, `tree-${trees++}`);
  const sys = join(dir, "sys");
  for (const sub of ["class/block", "dev/block", "devices/virtual/block"])
    mkdirSync(join(sys, sub), { recursive: true });
  const node = (
    path: string,
    name: string,
    majmin: string,
    size: number,
    extra: Record<string, string>,
  ) => {
    mkdirSync(join(path, "holders"), { recursive: true });
    mkdirSync(join(path, "slaves"), { recursive: true });
    writeFileSync(join(path, "dev"), `${majmin}\n`);
    writeFileSync(join(path, "size"), `${size}\n`);
    for (const [f, v] of Object.entries(extra)) {
      mkdirSync(join(path, f, ".."), { recursive: true });
      writeFileSync(join(path, f), `${v}\n`);
    }
    symlinkSync(path, join(sys, "class/block", name));
    symlinkSync(path, join(sys, "dev/block", majmin));
  };
  for (const d of disks) {
    const path = join(sys, "devices/virtual/block", d.name);
    node(path, d.name, d.majmin, d.size, d.model ? { "device/model": d.model } : {});
    for (const h of d.holders ?? []) mkdirSync(join(path, "holders", h));
    for (const s of d.slaves ?? []) mkdirSync(join(path, "slaves", s));
    (d.partitions ?? []).forEach((p, i) => {
      const pp = join(path, p.name);
      node(pp, p.name, p.majmin, p.size, { partition: String(i + 1) });
      for (const h of p.holders ?? []) mkdirSync(join(pp, "holders", h));
    });
  }
  const mountinfo = join(dir, "mountinfo");
  writeFileSync(
    mountinfo,
    mounts
      .map(
        ([mm, at, src], i) =>
          `${20 + i} 1 ${mm} / ${at.replaceAll(" ", "\\040")} rw,relatime shared:1 - ext4 ${src} rw\n`,
      )
      .join(""),
  );
  const swapsFile = join(dir, "swaps");
  writeFileSync(
    swapsFile,
    "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n" +
      swaps.map((s) => `${s}\tpartition\t1000\t0\t-2\n`).join(""),
  );
  return { mountinfo, swaps: swapsFile, sys } satisfies SystemPaths;
}

const GiB = 2097152; // sectors
const systemDisk: FakeDisk = {
  name: "vda",
  majmin: "254:0",
  size: 20 * GiB,
  partitions: [
    { name: "vda1", majmin: "254:1", size: GiB / 4 },
    { name: "vda2", majmin: "254:2", size: 19 * GiB },
  ],
};
const card: FakeDisk = {
  name: "sdb",
  majmin: "8:16",
  size: 16 * GiB,
  model: "Ultra Fit",
  partitions: [
    { name: "sdb1", majmin: "8:17", size: GiB / 2 },
    { name: "sdb2", majmin: "8:18", size: 8 * GiB },
  ],
};
const systemMounts: [string, string, string][] = [
  ["254:2", "/", "/dev/vda2"],
  ["254:1", "/boot/efi", "/dev/vda1"],
  ["0:22", "/proc", "proc"],
];

function refuses(f: () => unknown, code: string, pattern: RegExp) {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof StrataError, String(e));
    assert.equal(e.code, code);
    assert.match(e.message, pattern);
    assert.ok(e.hint, "a hint says what to do");
    return true;
  });
}

describe("checkBlockDevice", () => {
  it("accepts an idle card, with its size and partitions", () => {
    const paths = fakeSystem([systemDisk, card], systemMounts);
    const dev = checkBlockDevice("/dev/sdb", "8:16", 1 << 30, paths);
    assert.deepEqual(dev, {
      name: "sdb",
      disk: "sdb",
      bytes: 16 * 1073741824,
      partitions: ["sdb1", "sdb2"],
    });
  });

  it("refuses a card that is mounted, or one of whose partitions is", () => {
    const whole = fakeSystem(
      [systemDisk, card],
      [...systemMounts, ["8:16", "/media/card", "/dev/sdb"]],
    );
    refuses(
      () => checkBlockDevice("/dev/sdb", "8:16", 1, whole),
      "E_FLASH_BUSY",
      /sdb is mounted on \/media\/card/,
    );
    const part = fakeSystem(
      [systemDisk, card],
      [...systemMounts, ["8:18", "/media/my card", "/dev/sdb2"]],
    );
    refuses(
      () => checkBlockDevice("/dev/sdb", "8:16", 1, part),
      "E_FLASH_BUSY",
      /sdb2 is mounted on \/media\/my card/,
    );
  });

  it("finds a btrfs mount (an anonymous 0:N device) by its source", () => {
    const paths = fakeSystem([systemDisk, card], [...systemMounts, ["0:41", "/srv", "/dev/sdb1"]]);
    refuses(
      () => checkBlockDevice("/dev/sdb", "8:16", 1, paths),
      "E_FLASH_BUSY",
      /sdb1 is mounted on \/srv/,
    );
  });

  it("refuses a card with a partition in use as swap", () => {
    const paths = fakeSystem([systemDisk, card], systemMounts, ["/dev/sdb1"]);
    refuses(
      () => checkBlockDevice("/dev/sdb", "8:16", 1, paths),
      "E_FLASH_BUSY",
      /sdb1 is in use as swap/,
    );
  });

  it("refuses a card held by a device on top of it (dm, loop)", () => {
    const held = {
      ...card,
      partitions: [{ name: "sdb1", majmin: "8:17", size: GiB, holders: ["dm-3"] }],
    };
    const paths = fakeSystem([systemDisk, held], systemMounts);
    refuses(
      () => checkBlockDevice("/dev/sdb", "8:16", 1, paths),
      "E_FLASH_BUSY",
      /sdb1 is held by dm-3/,
    );
    const wholeHeld = fakeSystem([systemDisk, { ...card, holders: ["loop7"] }], systemMounts);
    refuses(
      () => checkBlockDevice("/dev/sdb", "8:16", 1, wholeHeld),
      "E_FLASH_BUSY",
      /sdb is held by loop7/,
    );
  });

  it("refuses the disk holding /, and any of its partitions", () => {
    const paths = fakeSystem([systemDisk, card], systemMounts);
    refuses(
      () => checkBlockDevice("/dev/vda", "254:0", 1, paths),
      "E_FLASH_SYSTEM_DISK",
      /on vda, the disk that holds this system's \/$/,
    );
    refuses(
      () => checkBlockDevice("/dev/vda2", "254:2", 1, paths),
      "E_FLASH_SYSTEM_DISK",
      /vda2 is on vda/,
    );
  });

  it("refuses the disk of /boot/efi when / is elsewhere", () => {
    const paths = fakeSystem(
      [systemDisk, card],
      [
        ["254:2", "/", "/dev/vda2"],
        ["8:17", "/boot/efi", "/dev/sdb1"],
      ],
    );
    refuses(
      () => checkBlockDevice("/dev/sdb", "8:16", 1, paths),
      "E_FLASH_SYSTEM_DISK",
      /this system's \/boot\/efi/,
    );
  });

  it("follows / on device-mapper down to its disk", () => {
    const dm: FakeDisk = { name: "dm-0", majmin: "253:0", size: 19 * GiB, slaves: ["vda2"] };
    const paths = fakeSystem([systemDisk, card, dm], [["253:0", "/", "/dev/mapper/root"]]);
    assert.deepEqual([...systemDisks(paths).keys()], ["vda"]);
    refuses(
      () => checkBlockDevice("/dev/vda", "254:0", 1, paths),
      "E_FLASH_SYSTEM_DISK",
      /holds this system's \/$/,
    );
  });

  it("accepts a loop device whose backing file is on /, refuses one mounted as /", () => {
    const loop: FakeDisk = { name: "loop3", majmin: "7:3", size: GiB };
    const onRoot = fakeSystem([systemDisk, loop], systemMounts);
    assert.equal(checkBlockDevice("/dev/loop3", "7:3", 1, onRoot).name, "loop3");
    const asRoot = fakeSystem([systemDisk, loop], [["7:3", "/", "/dev/loop3"]]);
    refuses(
      () => checkBlockDevice("/dev/loop3", "7:3", 1, asRoot),
      "E_FLASH_SYSTEM_DISK",
      /loop3, the disk that holds this system's \//,
    );
  });

  it("refuses a device smaller than the image, with both sizes", () => {
    const paths = fakeSystem([systemDisk, card], systemMounts);
    refuses(
      () => checkBlockDevice("/dev/sdb", "8:16", 16 * 1073741824 + 512, paths),
      "E_FLASH_TOO_SMALL",
      /has 17179869184 bytes \(16384.0 MiB\), the image 17179869696/,
    );
  });

  it("refuses a device number sysfs does not know", () => {
    const paths = fakeSystem([systemDisk], systemMounts);
    refuses(() => checkBlockDevice("/dev/sdz", "8:240", 1, paths), "E_FLASH_NOT_BLOCK", /not in/);
  });
});

describe("inspectTarget", () => {
  const paths = fakeSystem([systemDisk], systemMounts);
  it("refuses a regular file, a missing path, a directory, a character device", () => {
    const file = join(root, "file.img");
    writeFileSync(file, "old");
    refuses(
      () => inspectTarget(file, 1, { paths }),
      "E_FLASH_NOT_BLOCK",
      /is a regular file, not a block device/,
    );
    refuses(
      () => inspectTarget(join(root, "none"), 1, { paths }),
      "E_FLASH_NOT_BLOCK",
      /does not exist/,
    );
    refuses(
      () => inspectTarget(root, 1, { paths, forceFile: true }),
      "E_FLASH_NOT_BLOCK",
      /is a directory/,
    );
    refuses(
      () => inspectTarget("/dev/null", 1, { paths, forceFile: true }),
      "E_FLASH_NOT_BLOCK",
      /is a character device/,
    );
  });

  it("with --force-file takes a regular file, or a path to create", () => {
    const file = join(root, "file2.img");
    writeFileSync(file, "old");
    assert.deepEqual(inspectTarget(file, 10, { paths, forceFile: true }), {
      kind: "file",
      path: file,
      bytes: 3,
      exists: true,
    });
    const fresh = join(root, "fresh.img");
    assert.deepEqual(inspectTarget(fresh, 10, { paths, forceFile: true }), {
      kind: "file",
      path: fresh,
      bytes: 0,
      exists: false,
    });
  });
});

describe("mountinfo and device numbers", () => {
  it("reads mount points with escaped spaces and the source after the separator", () => {
    const file = join(root, "mi");
    writeFileSync(
      file,
      "36 25 8:17 / /media/a\\040b rw,nosuid shared:5 master:1 - vfat /dev/sdb1 rw\n",
    );
    assert.deepEqual(readMounts(file), [
      { majmin: "8:17", mountPoint: "/media/a b", source: "/dev/sdb1" },
    ]);
  });

  it("decodes st_rdev as glibc encodes it", () => {
    assert.equal(majorMinor(0x811n), "8:17");
    assert.equal(majorMinor((259n << 8n) | 1n), "259:1");
    // minor 300: its high bits sit above the major's low 12.
    assert.equal(majorMinor((8n << 8n) | (300n & 0xffn) | ((300n & ~0xffn) << 12n)), "8:300");
  });
});
