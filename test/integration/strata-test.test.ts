/**
 * `strata test` on a real image: examples/disk (cached layers) on an MBR + UEFI disk, its checks
 * plus one that fails and one after a reboot. The run exits non-zero, names the failing check, and writes the
 * JUnit and JSON reports with every verdict and the seconds to the login prompt.
 */
import assert from "node:assert/strict";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { TestResult } from "../../src/commands/test.js";
import { cli, needsRoot, ROOT, TEST_CACHE, tempDir } from "../helpers.js";

describe("strata test", { skip: needsRoot }, () => {
  const out = tempDir("strata-out-");
  const dir = tempDir("strata-recipe-");
  after(() => {
    rmSync(out, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it("boots, runs the checks, names the one that fails, and writes the reports", () => {
    cpSync(join(ROOT, "examples/disk"), dir, { recursive: true });
    const yaml = `${readFileSync(join(dir, "strata.yaml"), "utf8")
      .replace("- { type: disk }", "- { type: disk, table: mbr }")
      .trimEnd()}
    - name: this check fails on purpose
      run: echo "the answer is 41"
      output: "answer is 42"
    - name: changes are gone after a reboot
      run: test ! -e /etc/strata-example.orig
      reboot: true
`;
    writeFileSync(join(dir, "strata.yaml"), yaml);
    const r = cli(["test", dir, "--json", "--cache-dir", TEST_CACHE, "--out", out], {
      STRATA_ACCEL: "tcg",
    });
    assert.equal(r.code, 1, r.stderr);
    const result = JSON.parse(r.stdout) as TestResult;
    assert.equal(result.ok, false);
    assert.deepEqual(result.failed, ["this check fails on purpose"]);
    assert.deepEqual(
      result.checks.map((c) => [c.name, c.ok]),
      [
        ["the root is the stacked layers", true],
        ["a file deleted by an upper layer is absent", true],
        ["the store is reachable", true],
        ["this check fails on purpose", false],
        ["changes are gone after a reboot", true],
      ],
    );
    assert.equal(result.accel, "tcg");
    assert.equal(JSON.parse(readFileSync(`${result.image}.json`, "utf8")).table, "mbr");
    assert.ok((result.secondsToLogin ?? 0) > 0);
    assert.match(r.stderr, /this check fails on purpose/);
    const junit = readFileSync(result.reports.junit, "utf8");
    assert.match(junit, /<testcase [^>]*name="this check fails on purpose"[^>]*>\s*<failure/);
    assert.match(junit, /answer is 42/);
    const report = JSON.parse(readFileSync(result.reports.json, "utf8")) as TestResult;
    assert.deepEqual(report.failed, result.failed);
  });
});
