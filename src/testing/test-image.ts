/**
 * Testing a built disk image in a VM: boot a copy of it, log in at the serial console as
 * `tests.login`, run each of `tests.checks` (rebooting first where a check asks for it), power
 * off, and always kill QEMU. The result says for each check why it failed and records the
 * seconds from QEMU's start to the login prompt. It is written as JUnit XML and JSON (default
 * beside the image: test-report.xml, test-report.json; see report.ts), with the raw console in
 * test-console.log. A failed check is a result, not an exception. The VM itself is vm/'s
 * Machine; this file only decides what to run in it and how to judge it.
 */
import { mkdirSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { z } from "zod";
import { StrataError } from "../errors.js";
import { type Reporter, silentReporter } from "../progress.js";
import { MIB, parseSize } from "../recipe/size.js";
import { type TestCheck, Tests } from "../recipe/schema.js";
import type { Accel } from "../vm/argv.js";
import { cleanConsoleText } from "../vm/console.js";
import type { DiskImage } from "../vm/image.js";
import { bootMachine, type Machine } from "../vm/machine.js";
import { compileChecks, evaluateCheck } from "./checks.js";
import { type CheckResult, type TestResult, writeTestReports } from "./report.js";

export interface TestImageOptions {
  /** Suite name in the reports (default: the image's name). */
  name?: string;
  /** JUnit XML report (default: test-report.xml beside the image). */
  junit?: string;
  /** JSON report (default: test-report.json beside the image). */
  report?: string;
  /** Raw console log (default: test-console.log beside the image). */
  consoleLog?: string;
  /** Default: KVM when it works, else TCG (STRATA_ACCEL). */
  accel?: Accel;
  reporter?: Reporter;
  /** Temporary directory for the copy of the image (default: the OS's). */
  tmpDir?: string;
}

const OUTPUT_LIMIT = 64 * 1024;
const POWEROFF_TIMEOUT_MS = 120_000;

const clip = (s: string) => (s.length > OUTPUT_LIMIT ? s.slice(-OUTPUT_LIMIT) : s);
const since = (t: number) => (Date.now() - t) / 1000;

function errorJson(e: StrataError): NonNullable<TestResult["error"]> {
  return { code: e.code, message: e.message, hint: e.hint };
}

/** Forwards the console's complete lines to the reporter as detail under the status. */
function consoleDetail(reporter: Reporter): (chunk: string) => void {
  let partial = "";
  return (chunk) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop() ?? "";
    for (const l of lines) {
      const line = cleanConsoleText(l).trim();
      if (line) reporter.detail(line);
    }
  };
}

/** Boots `image`, logs in, runs `tests.checks`, writes the reports. */
export async function testImage(
  image: DiskImage,
  testsInput: z.input<typeof Tests>,
  options: TestImageOptions = {},
): Promise<TestResult> {
  const tests = Tests.parse(testsInput);
  compileChecks(tests.checks);
  const reporter = options.reporter ?? silentReporter;
  const dir = dirname(image.path);
  const reports = {
    junit: resolve(options.junit ?? join(dir, "test-report.xml")),
    json: resolve(options.report ?? join(dir, "test-report.json")),
    console: resolve(options.consoleLog ?? join(dir, "test-console.log")),
  };
  const name = options.name ?? basename(image.path).replace(/\.img$/, "");
  const started = Date.now();
  const timestamp = new Date(started).toISOString();
  const bootTimeoutMs = tests.boot_timeout * 1000;
  const checks: CheckResult[] = [];
  let error: TestResult["error"];
  let machine: Machine | undefined;
  let consoleTail = "";

  const skipRest = (why: string) => {
    for (const c of tests.checks.slice(checks.length)) {
      checks.push({
        name: c.name,
        ok: false,
        status: null,
        expectedStatus: c.status,
        failures: [],
        output: "",
        seconds: 0,
        skipped: why,
      });
    }
  };

  try {
    reporter.status(`booting ${basename(image.path)} (${image.arch}, ${image.boot})`);
    mkdirSync(dirname(reports.console), { recursive: true });
    machine = await bootMachine({
      image: image.path,
      arch: image.arch,
      boot: image.boot,
      board: image.board,
      memoryMiB: Math.floor(parseSize(tests.memory) / MIB),
      accel: options.accel,
      consoleLog: reports.console,
      onConsole: consoleDetail(reporter),
      tmpDir: options.tmpDir,
      name: `strata-test-${name}`,
    });
    reporter.info(`accelerator: ${machine.accel.accel} (${machine.accel.reason})`);
    reporter.status(`waiting for the login prompt (console: ${reports.console})`);
    await machine.login(tests.login.user, tests.login.password, { timeoutMs: bootTimeoutMs });
    reporter.info(`login prompt after ${machine.secondsToLogin?.toFixed(1)} s`);
    for (const check of tests.checks) {
      const result = await runCheck(machine, check, tests.login, bootTimeoutMs, reporter);
      checks.push(result);
      reporter.info(
        `${result.ok ? "ok  " : "FAIL"} ${check.name}${result.ok ? "" : `: ${[...result.failures, result.error?.split("\n")[0]].filter(Boolean).join("; ")}`}`,
      );
      if (result.error) {
        skipRest(`not run: an earlier check could not finish (${check.name})`);
        break;
      }
    }
    if (machine.running && !checks.some((c) => c.error)) {
      reporter.status("powering off");
      const code = await machine.poweroff({ timeoutMs: POWEROFF_TIMEOUT_MS });
      if (code === null) reporter.warn("the guest did not power off in time; QEMU was killed");
    }
  } catch (e) {
    // A StrataError (boot, login, a missing tool) is the run's result; anything else is a bug.
    if (!(e instanceof StrataError)) throw e;
    error = errorJson(e);
    skipRest(`not run: ${error.message.split("\n")[0]}`);
  } finally {
    consoleTail = machine?.tail() ?? "";
    await machine?.close();
    reporter.done();
  }

  const failed = checks.filter((c) => !c.ok).map((c) => c.name);
  const result: TestResult = {
    ok: error === undefined && failed.length === 0,
    name,
    image: image.path,
    arch: image.arch,
    boot: image.boot,
    accel: machine?.accel.accel ?? null,
    accelReason: machine?.accel.reason ?? null,
    secondsToLogin: machine?.secondsToLogin ?? null,
    seconds: since(started),
    checks,
    failed,
    error,
    reports,
  };
  writeTestReports(result, timestamp, consoleTail);
  return result;
}

async function runCheck(
  machine: Machine,
  check: TestCheck,
  login: { user: string; password: string },
  bootTimeoutMs: number,
  reporter: Reporter,
): Promise<CheckResult> {
  const result: CheckResult = {
    name: check.name,
    ok: false,
    status: null,
    expectedStatus: check.status,
    failures: [],
    output: "",
    seconds: 0,
  };
  if (check.reboot) {
    reporter.status(`rebooting before ${check.name}`);
    try {
      result.rebootSeconds = await machine.reboot({ timeoutMs: bootTimeoutMs });
      await machine.login(login.user, login.password, { timeoutMs: bootTimeoutMs });
    } catch (e) {
      result.error = `reboot failed: ${(e as Error).message}`;
      return result;
    }
  }
  reporter.status(`check ${check.name}`);
  const started = Date.now();
  try {
    const r = await machine.exec(check.run, { timeoutMs: check.timeout * 1000 });
    result.status = r.status;
    result.output = clip(r.output);
    result.failures = evaluateCheck(check, r);
    result.ok = result.failures.length === 0;
  } catch (e) {
    if ((e as StrataError).code === "E_VM_TIMEOUT" && machine.running) {
      result.failures = [`timed out after ${check.timeout} s (interrupted with Ctrl-C)`];
    } else {
      result.error = (e as Error).message;
    }
  }
  result.seconds = since(started);
  return result;
}
