/** The booted disk: a sparse copy, grown on request, with a GPT's backup header moved to the end. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, it } from "node:test";
import { which } from "../../src/host/tools.js";
import { hasGpt, prepareBootDisk } from "../../src/vm/boot-disk.js";
import { tempDir } from "../helpers.js";

const dir = tempDir("strata-bootdisk-test-");
after(() => rmSync(dir, { recursive: true, force: true }));
const MiB = 1024 * 1024;

it("copies sparsely and leaves the image as it was", async () => {
  const image = join(dir, "a.img");
  writeFileSync(image, "data at the start");
  truncateSync(image, 256 * MiB);
  const copyDir = join(dir, "copy-a");
  mkdirSync(copyDir);
  const disk = await prepareBootDisk(image, { dir: copyDir });
  assert.equal(disk, join(copyDir, "a.img"));
  assert.equal(statSync(disk).size, 256 * MiB);
  assert.ok(statSync(disk).blocks * 512 < 16 * MiB, "the copy is sparse");
  assert.equal(readFileSync(disk).subarray(0, 17).toString(), "data at the start");
  assert.equal(await prepareBootDisk(image, { dir: copyDir, copy: false }), image);
});

it(
  "moves a GPT's backup header to the end of a grown disk",
  { skip: !which("sfdisk") && "needs sfdisk" },
  async () => {
    const image = join(dir, "gpt.img");
    writeFileSync(image, "");
    truncateSync(image, 32 * MiB);
    execFileSync("sfdisk", ["--quiet", image], { input: "label: gpt\n,,L\n" });
    assert.ok(hasGpt(image));
    const copyDir = join(dir, "copy-gpt");
    mkdirSync(copyDir);
    const disk = await prepareBootDisk(image, { dir: copyDir, sizeBytes: 64 * MiB });
    assert.equal(statSync(disk).size, 64 * MiB);
    const lastLba = (p: string) =>
      Number(
        /last-lba: (\d+)/.exec(execFileSync("sfdisk", ["--dump", p], { encoding: "utf8" }))?.[1],
      );
    assert.ok(lastLba(disk) > (48 * MiB) / 512, `last-lba ${lastLba(disk)}`);
    assert.ok(lastLba(image) < (32 * MiB) / 512);
    assert.equal(statSync(image).size, 32 * MiB);
  },
);

it("knows an MBR disk is not a GPT", () => {
  const image = join(dir, "mbr.img");
  writeFileSync(image, "");
  truncateSync(image, MiB);
  assert.equal(hasGpt(image), false);
});
