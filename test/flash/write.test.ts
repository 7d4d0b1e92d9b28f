/**
 * Writing and verifying on real loop devices: only the mapped ranges change, the rest of the
 * target keeps its old bytes, and a byte changed after the write is caught by the verify.
 */
import assert from "node:assert/strict";
import { closeSync, fsyncSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { StrataError } from "../../src/errors.js";
import { verifyRanges, writeRanges } from "../../src/flash/write.js";
import { needsRoot, tempDir } from "../helpers.js";
import {
  makeImage,
  MIB,
  PATTERN,
  patternFile,
  readAt,
  readBmap,
  sha256,
  withLoops,
} from "./fixtures.js";

const dir = tempDir("strata-flash-write-");
after(() => rmSync(dir, { recursive: true, force: true }));

describe("writeRanges and verifyRanges on a loop device", { skip: needsRoot }, () => {
  const image = makeImage(dir, 64);
  const bmap = readBmap(image);
  /** Writes the image's mapped ranges to the loop device `target`. */
  const writeImage = (target: string, onProgress?: (p: { phase: string }) => void) =>
    writeRanges({
      image,
      target,
      block: true,
      imageBytes: bmap.imageSize,
      ranges: bmap.ranges,
      checksumType: bmap.checksumType,
      onProgress,
    });

  it("writes exactly the mapped ranges and verifies them with O_DIRECT reads", async () => {
    await withLoops(async (attach) => {
      const loop = attach(patternFile(join(dir, "target-a"), 80));
      const seen: string[] = [];
      const written = await writeImage(loop, (p) => seen.push(p.phase));
      assert.equal(written.bytes, bmap.mappedBytes);
      assert.ok(bmap.mappedBytes < bmap.imageSize / 4, "the image is mostly holes");
      assert.deepEqual(
        written.ranges.map((r) => r.digest),
        bmap.ranges.map((r) => r.chksum),
      );
      for (const r of bmap.ranges) assert.equal(sha256(readAt(loop, r.offset, r.length)), r.chksum);
      // A hole of the image (between two ranges) and the space after it keep the old pattern.
      const gap = bmap.ranges.findIndex(
        (r, i) => (bmap.ranges[i + 1]?.offset ?? 0) - (r.offset + r.length) >= MIB,
      );
      assert.ok(gap >= 0, "the image has a hole of at least 1 MiB");
      const hole = (bmap.ranges[gap]?.offset ?? 0) + (bmap.ranges[gap]?.length ?? 0);
      assert.ok(readAt(loop, hole, MIB).every((b) => b === PATTERN));
      assert.ok(readAt(loop, 64 * MIB, 16 * MIB).every((b) => b === PATTERN));

      const verified = await verifyRanges({
        target: loop,
        block: true,
        targetBytes: 80 * MIB,
        ranges: written.ranges,
        checksumType: bmap.checksumType,
        onProgress: (p) => seen.push(p.phase),
      });
      assert.equal(verified.bytes, bmap.mappedBytes);
      assert.ok(seen.includes("write") && seen.includes("verify"));
    });
  });

  it("a byte changed on the device after the write fails the verify, naming the range and device", async () => {
    await withLoops(async (attach) => {
      const loop = attach(patternFile(join(dir, "target-b"), 64));
      const written = await writeImage(loop);
      // The last range: somewhere other than the first sector, to show the offsets are right.
      const r = written.ranges[written.ranges.length - 1];
      assert.ok(r);
      const at = r.offset + Math.floor(r.length / 2);
      const fd = openSync(loop, "r+");
      try {
        const old = readAt(loop, at, 1);
        writeSync(fd, Buffer.from([(old[0] ?? 0) ^ 0xff]), 0, 1, at);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      const span = `bytes ${r.offset}-${r.offset + r.length - 1}`;
      await assert.rejects(
        verifyRanges({
          target: loop,
          block: true,
          targetBytes: 64 * MIB,
          ranges: written.ranges,
          checksumType: bmap.checksumType,
        }),
        (e: unknown) =>
          e instanceof StrataError &&
          e.code === "E_FLASH_VERIFY" &&
          e.message.startsWith(`${loop} does not hold what was written at ${span}`),
      );
    });
  });

  it("an image whose bytes differ from its bmap's checksums is E_FLASH_BMAP_MISMATCH", async () => {
    const target = join(dir, "target-c");
    const wrong = bmap.ranges.map((r, i) => (i === 1 ? { ...r, chksum: "0".repeat(64) } : r));
    await assert.rejects(
      writeRanges({
        image,
        target,
        block: false,
        imageBytes: bmap.imageSize,
        ranges: wrong,
        checksumType: "sha256",
      }),
      (e: unknown) => e instanceof StrataError && e.code === "E_FLASH_BMAP_MISMATCH",
    );
  });
});
