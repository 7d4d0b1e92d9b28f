/**
 * examples/arm64-disk: an arm64 UEFI disk image, built on this amd64 host through
 * qemu-user-static and booted with qemu-system-aarch64 and AAVMF under TCG (slow: one boot).
 */
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { BuildResult } from "../../src/build/build.js";
import { bootMachine } from "../../src/vm/machine.js";
import { cli, needsRoot, ROOT, TEST_CACHE, tempDir } from "../helpers.js";

process.env.STRATA_ACCEL ??= "tcg";

describe("arm64 disk image", { skip: needsRoot }, () => {
  const out = tempDir("strata-out-");
  after(() => rmSync(out, { recursive: true, force: true }));

  it("boots to login with the stacked layers as its root", async () => {
    const recipe = join(ROOT, "examples/arm64-disk");
    const r = cli(["build", recipe, "--json", "--cache-dir", TEST_CACHE, "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    const image = (JSON.parse(r.stdout) as BuildResult).outputs[0]?.path as string;
    const meta = JSON.parse(readFileSync(`${image}.json`, "utf8"));
    assert.deepEqual([meta.arch, meta.boot, meta.console], ["arm64", "uefi", "ttyAMA0"]);

    const m = await bootMachine({ image, arch: "arm64", boot: "uefi" });
    try {
      await m.login("root", "strata");
      assert.equal((await m.exec("uname -m")).output.trim(), "aarch64");
      assert.match((await m.exec("findmnt -n -o FSTYPE /")).output, /^overlay/m);
      assert.equal(
        (await m.exec("cat /etc/strata-example")).output.trim(),
        "from the system layer",
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- console ---\n${m.tail(40)}`, { cause: e });
    } finally {
      await m.close();
    }
  });
});
