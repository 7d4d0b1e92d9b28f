/**
 * `strata flash` as a user runs it, on real loop devices: a written card holds the image over
 * its mapped ranges (and its old bytes elsewhere), and each refusal leaves the target's bytes
 * exactly as they were.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { flash } from "../../src/commands/flash.js";
import { StrataError } from "../../src/errors.js";
import { inspectTarget } from "../../src/flash/target.js";
import { cli, needsRoot, tempDir } from "../helpers.js";
import {
  digestOf,
  makeImage,
  MIB,
  PATTERN,
  patternFile,
  readAt,
  readBmap,
  sha256,
  withLoops,
  withMount,
} from "../flash/fixtures.js";

const dir = tempDir("strata-flash-cmd-");
after(() => rmSync(dir, { recursive: true, force: true }));

const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>;

/** The CLI's error, as `--json` prints it. */
function refused(args: string[], code: string, pattern: RegExp) {
  const r = cli([...args, "--json"]);
  assert.equal(r.code, 1, r.stderr);
  const out = json(r.stdout) as {
    ok: boolean;
    error: { code: string; message: string; hint: string };
  };
  assert.equal(out.ok, false);
  assert.equal(out.error.code, code, out.error.message);
  assert.match(out.error.message, pattern);
  assert.ok(out.error.hint);
}

describe("strata flash", { skip: needsRoot }, () => {
  const image = makeImage(dir, 64);
  const bmap = readBmap(image);

  it("writes the mapped blocks to a loop device, verifies them, and reports as JSON", async () => {
    await withLoops((attach) => {
      const loop = attach(patternFile(join(dir, "card-a"), 96));
      const r = cli(["flash", image, loop, "--yes", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const out = json(r.stdout);
      assert.equal(out.ok, true);
      assert.equal(out.device, loop);
      assert.equal(out.bmap, `${image}.bmap`);
      assert.equal(out.bytesWritten, bmap.mappedBytes);
      assert.equal(out.imageBytes, 64 * MIB);
      assert.equal(out.mappedRanges, bmap.ranges.length);
      assert.equal(out.verified, true);
      for (const key of ["seconds", "writeMiBps", "verifyMiBps"])
        assert.equal(typeof out[key], "number");
      for (const range of bmap.ranges)
        assert.equal(sha256(readAt(loop, range.offset, range.length)), range.chksum);
      assert.ok(
        readAt(loop, 64 * MIB, 32 * MIB).every((b) => b === PATTERN),
        "past the image: untouched",
      );
      // Plain lines on stderr (CI): the write and verify phases, with bytes and speed.
      assert.match(r.stderr, /writing [\d.]+ of [\d.]+ MiB \(100%\), [\d.]+ MiB\/s/);
      assert.match(r.stderr, /verifying [\d.]+ of [\d.]+ MiB \(100%\)/);
      // The card holds the image's filesystem (GPT, ext4 with its files).
      const fs = execFileSync(
        "blkid",
        ["-p", "-o", "value", "-s", "LABEL", "--offset", String(MIB), loop],
        {
          encoding: "utf8",
        },
      );
      assert.equal(fs.trim(), "strata-test");
    });
  });

  it("without a .bmap maps the image's data extents itself and verifies against its bytes", async () => {
    // The same image, made the same way, without its .bmap (its map kept here to compare).
    const bare = makeImage(dir, 64, "bare.img");
    const extents = readBmap(bare);
    rmSync(`${bare}.bmap`);
    await withLoops((attach) => {
      const loop = attach(patternFile(join(dir, "card-b"), 64));
      const r = cli(["flash", bare, loop, "--yes", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const out = json(r.stdout);
      assert.equal(out.bmap, null);
      assert.equal(out.verified, true);
      assert.ok((out.bytesWritten as number) < (64 * MIB) / 4, "holes are not written");
      assert.equal(out.bytesWritten, extents.mappedBytes);
      for (const range of extents.ranges)
        assert.equal(sha256(readAt(loop, range.offset, range.length)), range.chksum);
    });
  });

  it("with --force-file writes a regular file, created at the image's size", () => {
    const file = join(dir, "copy.img");
    const r = cli(["flash", image, file, "--yes", "--force-file", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statSync(file).size, 64 * MIB);
    assert.equal(digestOf(file), digestOf(image));
    const again = cli(["flash", image, file, "--yes", "--force-file", "--no-verify", "--json"]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(json(again.stdout).verified, false);
    assert.doesNotMatch(again.stderr, /verifying/);
  });

  it("refuses a mounted device, and a device with a mounted partition", async () => {
    // A mounted ext4 changes under its own kernel (superblock, journal): what is compared
    // is what the kernel never writes there, and what the image would have overwritten.
    const other = makeImage(dir, 64, "other-mounted.img");
    await withLoops(async (attach) => {
      const fsFile = patternFile(join(dir, "card-fs"), 64);
      execFileSync("mkfs.ext4", ["-q", "-F", fsFile]);
      const loop = attach(fsFile);
      await withMount(loop, dir, () => {
        const before = sha256(readAt(loop, 0, 1024)); // ext4's superblock starts at 1024
        refused(
          ["flash", image, loop, "--yes"],
          "E_FLASH_BUSY",
          new RegExp(`${loop.slice(5)} is mounted on `),
        );
        assert.equal(sha256(readAt(loop, 0, 1024)), before);
      });

      // A card that holds an image: its partition mounted, another image refused.
      const cardFile = join(dir, "card-part");
      execFileSync("cp", ["--sparse=always", image, cardFile]);
      const card = attach(cardFile, true);
      await withMount(`${card}p1`, dir, () => {
        const before = sha256(readAt(card, 0, MIB)); // the GPT, outside the partition
        refused(
          ["flash", other, card, "--yes"],
          "E_FLASH_BUSY",
          new RegExp(`${card.slice(5)}p1 is mounted on `),
        );
        assert.equal(sha256(readAt(card, 0, MIB)), before);
      });
    });
  });

  it("refuses a device smaller than the image", async () => {
    await withLoops((attach) => {
      const small = attach(patternFile(join(dir, "card-small"), 32));
      const before = digestOf(small);
      refused(
        ["flash", image, small, "--yes"],
        "E_FLASH_TOO_SMALL",
        /has 33554432 bytes .* the image 67108864/,
      );
      assert.equal(digestOf(small), before);
    });
  });

  it("refuses a regular file without --force-file, and a directory with it", () => {
    const file = patternFile(join(dir, "not-a-card"), 64);
    const before = digestOf(file);
    refused(
      ["flash", image, file, "--yes"],
      "E_FLASH_NOT_BLOCK",
      /is a regular file, not a block device/,
    );
    refused(["flash", image, dir, "--yes", "--force-file"], "E_FLASH_NOT_BLOCK", /is a directory/);
    assert.equal(digestOf(file), before);
  });

  it("refuses to write without --yes when standard input is not a terminal", async () => {
    await withLoops((attach) => {
      const loop = attach(patternFile(join(dir, "card-c"), 64));
      const before = digestOf(loop);
      const r = cli(["flash", image, loop]);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /error\[E_FLASH_CONFIRM\]: not writing .* standard input is not a terminal/,
      );
      assert.match(r.stderr, /hint: .*--yes/);
      assert.equal(digestOf(loop), before);
    });
  });

  it("asks on a terminal, showing the device's partitions; no is E_FLASH_CONFIRM, yes writes", async () => {
    await withLoops(async (attach) => {
      const cardFile = join(dir, "card-ask");
      execFileSync("cp", ["--sparse=always", image, cardFile]);
      execFileSync("truncate", ["-s", "80M", cardFile]);
      const card = attach(cardFile, true);
      const asked: { question: string; details: string[] }[] = [];
      const options = (answer: boolean) => ({
        interactive: true,
        confirm: async (question: string, details: string[]) => {
          asked.push({ question, details });
          return answer;
        },
      });
      const other = join(dir, "other.img");
      execFileSync("cp", ["--sparse=always", image, other]);
      copyFileSync(`${image}.bmap`, `${other}.bmap`);
      const before = digestOf(card);
      await assert.rejects(
        flash(other, card, options(false)),
        (e: unknown) => e instanceof StrataError && e.code === "E_FLASH_CONFIRM",
      );
      assert.equal(digestOf(card), before);
      assert.equal(
        asked[0]?.question,
        `Write ${other} to ${card}? This destroys what it holds [y/N]`,
      );
      assert.match(asked[0]?.details[0] ?? "", new RegExp(`^${card}: 80.0 MiB$`));
      assert.match(
        asked[0]?.details[1] ?? "",
        new RegExp(`${card.slice(5)}p1 .* ext4 "strata-test"`),
      );

      const result = await flash(other, card, options(true));
      assert.equal(result.verified, true);
      assert.equal(asked.length, 2);
    });
  });

  it("refuses a bmap made for another image, before writing", async () => {
    const other = makeImage(dir, 48, "other48.img");
    writeFileSync(`${other}.bmap`, readFileSync(`${image}.bmap`));
    await withLoops((attach) => {
      const loop = attach(patternFile(join(dir, "card-d"), 64));
      const before = digestOf(loop);
      refused(
        ["flash", other, loop, "--yes"],
        "E_FLASH_BMAP_MISMATCH",
        /is for an image of 67108864 bytes, but .* has 50331648/,
      );
      assert.equal(digestOf(loop), before);
    });
  });

  it("refuses the disk that holds this system's root filesystem", () => {
    const source = execFileSync("findmnt", ["-n", "-o", "SOURCE", "/"], {
      encoding: "utf8",
    }).trim();
    let isBlock = false;
    try {
      isBlock = statSync(source).isBlockDevice();
    } catch {}
    if (!isBlock) return; // an overlay or tmpfs root: no disk to refuse
    // Only the checks: nothing here can write.
    assert.throws(
      () => inspectTarget(source, 0),
      (e: unknown) => e instanceof StrataError && e.code === "E_FLASH_SYSTEM_DISK",
    );
  });
});
