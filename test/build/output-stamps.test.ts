/**
 * Output stamps: an output's key covers its options and the keys of its own layers only, and a
 * stamp is honoured only while its file is still there.
 */
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { isUpToDate, outputKey, stampOutput } from "../../src/build/output-stamps.js";
import type { BuildPlan, PlannedOutput } from "../../src/plan/plan.js";
import { tempDir } from "../helpers.js";

function planWith(keys: Record<string, string>, outputs: PlannedOutput[]): BuildPlan {
  return {
    recipe: { recipe: { name: "r" } },
    settings: { distro: { suite: "trixie", arch: "amd64" }, epoch: 1 },
    layers: Object.entries(keys).map(([name, key]) => ({ name, key })),
    outputs,
  } as unknown as BuildPlan;
}

const tar: PlannedOutput = {
  index: 0,
  output: { type: "tar", compression: "zstd" },
  name: "app",
  top: "app",
  stack: ["base", "app"],
  added: {},
  file: "app.tar.zst",
};

describe("output stamps", () => {
  const out = tempDir("strata-out-");
  after(() => rmSync(out, { recursive: true, force: true }));

  it("keys an output on its options and its own layers' keys", () => {
    const base = { base: "k1", app: "k2", other: "k3" };
    const key = outputKey(planWith(base, [tar]), tar);
    assert.equal(outputKey(planWith({ ...base, other: "k9" }, [tar]), tar), key);
    assert.notEqual(outputKey(planWith({ ...base, app: "k9" }, [tar]), tar), key);
    const gzip = { ...tar, output: { type: "tar", compression: "gzip" } } as PlannedOutput;
    assert.notEqual(outputKey(planWith(base, [gzip]), gzip), key);
    const disk = { ...tar, added: { boot: ["base", "other"] } };
    assert.notEqual(
      outputKey(planWith({ ...base, other: "k9" }, [disk]), disk),
      outputKey(planWith(base, [disk]), disk),
    );
  });

  it("is up to date only with the same key and the file still there", () => {
    mkdirSync(out, { recursive: true });
    assert.equal(isUpToDate(out, "a.tar", "k"), false);
    stampOutput(out, "a.tar", "k");
    assert.equal(isUpToDate(out, "a.tar", "k"), false, "no file yet");
    writeFileSync(join(out, "a.tar"), "x");
    assert.equal(isUpToDate(out, "a.tar", "k"), true);
    assert.equal(isUpToDate(out, "a.tar", "other"), false);
    stampOutput(out, "a.tar", undefined);
    assert.equal(isUpToDate(out, "a.tar", "k"), false);
  });
});
