/**
 * testImage against the FAKE qemu (a scripted getty and a real bash), so each verdict, the
 * reboot, a timeout, a failed boot and the reports are checked without a guest; and the
 * summary's wording.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { formatTestSummary, type TestResult } from "../../src/testing/report.js";
import { testImage } from "../../src/testing/test-image.js";
import { readDiskImage } from "../../src/vm/image.js";
import { tempDir } from "../helpers.js";
import { entriesWith, fakeImage, installFakeQemu, processesWith } from "../vm/fake.js";

const dir = tempDir("strata-testimage-test-");
const tmp = join(dir, "tmp");
const savedPath = process.env.PATH;
let image: string;

before(() => {
  mkdirSync(tmp);
  process.env.PATH = `${installFakeQemu(dir)}:${savedPath}`;
  image = fakeImage(dir);
});
after(() => {
  process.env.PATH = savedPath;
  rmSync(dir, { recursive: true, force: true });
});

async function withMode<T>(mode: string, fn: () => Promise<T>): Promise<T> {
  process.env.FAKE_QEMU_MODE = mode;
  try {
    return await fn();
  } finally {
    delete process.env.FAKE_QEMU_MODE;
  }
}

const checks = [
  { name: "passes", run: "echo hello", output: "^hello$" },
  { name: "wrong status", run: "echo oops; exit 3" },
  { name: "wrong output", run: "echo inactive", output: ["^active$"], not_output: "inact" },
  { name: "after reboot", run: "echo back", reboot: true, output: "back" },
  { name: "hangs", run: "sleep 30", timeout: 0.3 },
  { name: "still usable", run: "echo yes", status: 0, output: "yes" },
];

describe("testImage", () => {
  let result: TestResult;
  before(async () => {
    result = await testImage(readDiskImage(image), { checks }, { accel: "tcg", tmpDir: tmp });
  });

  it("judges each check and names the failures", () => {
    assert.equal(result.ok, false);
    assert.deepEqual(
      result.checks.map((c) => [c.name, c.ok]),
      [
        ["passes", true],
        ["wrong status", false],
        ["wrong output", false],
        ["after reboot", true],
        ["hangs", false],
        ["still usable", true],
      ],
    );
    assert.deepEqual(result.failed, ["wrong status", "wrong output", "hangs"]);
    const byName = new Map(result.checks.map((c) => [c.name, c]));
    assert.deepEqual(byName.get("wrong status")?.failures, ["expected status 0, got 3"]);
    assert.equal(byName.get("wrong status")?.output, "oops\n");
    assert.deepEqual(byName.get("wrong output")?.failures, [
      "output did not match /^active$/",
      "output matched /inact/, which it must not",
    ]);
    assert.match(byName.get("hangs")?.failures[0] ?? "", /timed out after 0\.3 s/);
    assert.equal(typeof byName.get("after reboot")?.rebootSeconds, "number");
  });

  it("records the time to the login prompt and the accelerator", () => {
    assert.equal(typeof result.secondsToLogin, "number");
    assert.equal(result.accel, "tcg");
    assert.equal(result.error, undefined);
  });

  it("writes the JSON and JUnit reports and the console log beside the image", () => {
    assert.equal(result.reports.junit, join(dir, "test-report.xml"));
    const json = JSON.parse(readFileSync(result.reports.json, "utf8")) as TestResult;
    assert.deepEqual(json, JSON.parse(JSON.stringify(result)));
    const xml = readFileSync(result.reports.junit, "utf8");
    assert.match(xml, /tests="7" failures="3" errors="0" skipped="0"/);
    assert.match(xml, /<failure message="expected status 0, got 3" type="check">/);
    assert.match(xml, /<property name="secondsToLogin" value="\d+\.\d{3}"\/>/);
    assert.match(readFileSync(result.reports.console, "utf8"), /fake login: /);
  });

  it("leaves no QEMU and no temporary files", () => {
    assert.deepEqual(entriesWith(tmp, "strata-vm-"), []);
    assert.deepEqual(processesWith("strata-test-fake"), []);
  });

  it("summarises with the reasons and the failing checks' names", () => {
    const text = formatTestSummary(result);
    assert.match(
      text,
      /^ok {4}boot to the login prompt +\d+\.\d s \(tcg: chosen by the caller\)$/m,
    );
    assert.match(text, /^ok {4}passes /m);
    assert.match(
      text,
      /^FAIL {2}wrong status .*\n {8}expected status 0, got 3\n {8}output \(last lines\):\n {8}\| oops$/m,
    );
    assert.match(text, /^ok {4}after reboot +\d+\.\d s, after a reboot of \d+\.\d s$/m);
    assert.match(text, /^3 of 6 checks passed; failed: wrong status, wrong output, hangs$/m);
    assert.match(
      text,
      /^reports: .*test-report\.xml, .*test-report\.json; console: .*test-console\.log$/m,
    );
  });
});

describe("testImage when the guest does not come up", () => {
  it("reports the boot error, skips the checks and still writes the reports", async () => {
    const out = join(dir, "reports");
    const result = await withMode("exit", () =>
      testImage(
        readDiskImage(image),
        { checks: [{ name: "never", run: "true" }] },
        {
          accel: "tcg",
          tmpDir: tmp,
          junit: join(out, "j.xml"),
          report: join(out, "r.json"),
          consoleLog: join(out, "c.log"),
        },
      ),
    );
    assert.equal(result.ok, false);
    assert.equal(result.secondsToLogin, null);
    assert.equal(result.error?.code, "E_VM");
    assert.match(result.error?.message ?? "", /QEMU exited with code 1/);
    assert.match(result.checks[0]?.skipped ?? "", /^not run: QEMU exited/);
    assert.deepEqual(result.failed, ["never"]);
    const xml = readFileSync(join(out, "j.xml"), "utf8");
    assert.match(xml, /tests="2" failures="0" errors="1" skipped="1"/);
    assert.ok(existsSync(join(out, "r.json")));
    const text = formatTestSummary(result);
    assert.match(text, /^FAIL {2}boot to the login prompt +no login prompt/m);
    assert.match(text, /^error\[E_VM\]: QEMU exited with code 1/m);
    assert.deepEqual(entriesWith(tmp, "strata-vm-"), []);
  });

  it("reports a refused login with its hint", async () => {
    process.env.FAKE_QEMU_PASSWORD = "right";
    try {
      const result = await withMode("password", () =>
        testImage(
          readDiskImage(image),
          { login: { password: "wrong" }, checks: [{ name: "never", run: "true" }] },
          { accel: "tcg", tmpDir: tmp, report: join(dir, "refused.json") },
        ),
      );
      assert.equal(result.ok, false);
      assert.equal(typeof result.secondsToLogin, "number");
      assert.equal(result.error?.code, "E_VM");
      assert.match(result.error?.hint ?? "", /tests\.login\.password/);
    } finally {
      delete process.env.FAKE_QEMU_PASSWORD;
    }
  });

  it("refuses a bad pattern before booting", async () => {
    await assert.rejects(
      testImage(readDiskImage(image), { checks: [{ name: "x", run: "true", output: "(" }] }),
      /tests\.checks\[0\]\.output\[0\]: not a regular expression/,
    );
  });
});
