/**
 * packSquashfs without root, through the FakeRunner: the mksquashfs command line that makes
 * modules reproducible (zstd at the set level, every timestamp and the filesystem's own time
 * set to the epoch, no appending), the tool's output lines, and its failure.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SQUASHFS } from "../../src/build/context.js";
import { packSquashfs } from "../../src/build/pack.js";
import type { StrataError } from "../../src/errors.js";
import { FakeRunner } from "../../src/host/fake-runner.js";
import { withRunner } from "../../src/host/run.js";

const value = (argv: readonly string[], flag: string) => argv[argv.indexOf(flag) + 1];

describe("packSquashfs", () => {
  it("packs with zstd and every time set to the epoch", async () => {
    const fake = new FakeRunner();
    await withRunner(fake, () => packSquashfs("/b/upper", "/c/tmp/x.sqfs", 1735689600));
    assert.equal(fake.calls.length, 1);
    const argv = fake.calls[0]?.argv ?? [];
    assert.deepEqual(argv.slice(0, 4), ["mksquashfs", "/b/upper", "/c/tmp/x.sqfs", "-noappend"]);
    assert.equal(value(argv, "-comp"), "zstd");
    assert.equal(SQUASHFS.compression, "zstd");
    assert.equal(value(argv, "-Xcompression-level"), String(SQUASHFS.level));
    assert.equal(value(argv, "-all-time"), "1735689600");
    assert.equal(value(argv, "-mkfs-time"), "1735689600");
    assert.match(value(argv, "-processors") ?? "", /^[1-9]\d*$/);
    assert.ok(argv.includes("-no-progress") && argv.includes("-quiet"));
  });

  it("passes the tool's lines on and reports its failure with the tail", async () => {
    const fake = new FakeRunner().on("mksquashfs", {
      exitCode: 1,
      output: "Parallel mksquashfs\nFATAL ERROR: No space left\n",
    });
    const lines: string[] = [];
    await withRunner(fake, () =>
      assert.rejects(
        packSquashfs("/b/upper", "/c/x.sqfs", 0, (l) => lines.push(l)),
        (e: StrataError) =>
          e.code === "E_COMMAND_FAILED" &&
          /^command failed with exit code 1: mksquashfs \/b\/upper \/c\/x\.sqfs /.test(e.message) &&
          e.message.endsWith("FATAL ERROR: No space left"),
      ),
    );
    assert.deepEqual(lines, ["Parallel mksquashfs", "FATAL ERROR: No space left"]);
  });
});
