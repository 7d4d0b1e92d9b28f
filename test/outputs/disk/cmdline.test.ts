import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { consoles, kernelCmdline } from "../../../src/outputs/disk/cmdline.js";
import { DiskOutput } from "../../../src/recipe/schema.js";

const disk = (o: Record<string, unknown> = {}) => DiskOutput.parse({ type: "disk", ...o });

describe("disk output", () => {
  it("defaults to GPT, UEFI, ext4 and an immutable root", () => {
    const d = disk();
    assert.deepEqual([d.table, d.boot, d.filesystem, d.root], ["gpt", "uefi", "ext4", "immutable"]);
  });

  it("puts the serial console last, so it is /dev/console, per architecture", () => {
    assert.deepEqual(consoles(disk(), "amd64"), ["tty0", "ttyS0,115200"]);
    assert.deepEqual(consoles(disk(), "arm64"), ["tty0", "ttyAMA0,115200"]);
    assert.deepEqual(consoles(disk({ console: ["ttyS1"] }), "amd64"), ["ttyS1"]);
  });

  it("boots layered roots with the strata boot script and flat ones by label", () => {
    assert.equal(
      kernelCmdline(disk({ root: "persistent", cmdline: "quiet" }), "amd64"),
      "boot=strata strata.version=1 strata.root=persistent strata.store=LABEL=strata-store console=tty0 console=ttyS0,115200 quiet",
    );
    assert.equal(
      kernelCmdline(disk({ root: "flat" }), "arm64"),
      "root=LABEL=strata-root rw console=tty0 console=ttyAMA0,115200",
    );
  });
});
