/**
 * The record of a `strata test` run and its three renderings: the JSON report (the record
 * itself), the JUnit XML report (one case for the boot, one per check) and the summary the
 * CLI prints.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Accel, Firmware, VmArch } from "../vm/argv.js";
import { type JUnitCase, junitXml } from "./junit.js";

export interface CheckResult {
  name: string;
  ok: boolean;
  /** The command's exit status (null when it did not finish). */
  status: number | null;
  expectedStatus: number;
  /** Why it failed (empty when it passed). */
  failures: string[];
  /** The command's output (stdout and stderr), at most the last 64 KiB. */
  output: string;
  seconds: number;
  /** Seconds from `reboot` to the login prompt, when the check rebooted first. */
  rebootSeconds?: number;
  /** Why the check was not run (an earlier error). */
  skipped?: string;
  /** An error that kept the check from a verdict (reboot failed, console lost). */
  error?: string;
}

export interface TestResult {
  ok: boolean;
  /** The recipe's name (the image's name for testImage). */
  name: string;
  image: string;
  arch: VmArch;
  boot: Firmware;
  accel: Accel | null;
  accelReason: string | null;
  /** Seconds from QEMU's start to the first login prompt (null if it never came). */
  secondsToLogin: number | null;
  seconds: number;
  checks: CheckResult[];
  /** Names of the checks that failed or could not run. */
  failed: string[];
  /** What stopped the run before all checks had a verdict (boot, login, reboot). */
  error?: { code: string; message: string; hint?: string };
  reports: { junit: string; json: string; console: string };
}

/** Writes the JUnit XML and JSON reports named in `result.reports`. */
export function writeTestReports(result: TestResult, timestamp: string, consoleTail: string): void {
  const cases: JUnitCase[] = [
    {
      name: "boot to the login prompt",
      seconds: result.secondsToLogin ?? 0,
      failures: [],
      error:
        result.secondsToLogin === null ? (result.error?.message ?? "no login prompt") : undefined,
      output: result.secondsToLogin === null ? consoleTail : undefined,
    },
    ...result.checks.map((c): JUnitCase => ({
      name: c.name,
      seconds: c.seconds,
      failures: c.failures,
      error: c.error,
      skipped: c.skipped,
      output: c.output,
    })),
  ];
  // An error after the login (e.g. a failed login) belongs to the boot case too.
  if (result.error && result.secondsToLogin !== null && cases[0]) {
    cases[0].error = result.error.message;
    cases[0].output = consoleTail;
  }
  const xml = junitXml({
    name: result.name,
    timestamp,
    seconds: result.seconds,
    properties: {
      image: result.image,
      arch: result.arch,
      boot: result.boot,
      accel: result.accel ?? undefined,
      accelReason: result.accelReason ?? undefined,
      secondsToLogin: result.secondsToLogin?.toFixed(3),
    },
    cases,
  });
  for (const [path, text] of [
    [result.reports.junit, xml],
    [result.reports.json, `${JSON.stringify(result, null, 2)}\n`],
  ] as const) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
}

/** The summary `strata test` prints: one line per check, reasons under failures, the totals. */
export function formatTestSummary(result: TestResult): string {
  const lines: string[] = [];
  const width = Math.max(24, ...result.checks.map((c) => c.name.length));
  const row = (mark: string, name: string, detail: string) =>
    lines.push(`${mark.padEnd(5)} ${name.padEnd(width)}  ${detail}`);
  const accel = result.accel ? ` (${result.accel}: ${result.accelReason})` : "";
  if (result.secondsToLogin !== null) {
    row("ok", "boot to the login prompt", `${result.secondsToLogin.toFixed(1)} s${accel}`);
  } else {
    row("FAIL", "boot to the login prompt", `no login prompt${accel}`);
  }
  for (const c of result.checks) {
    if (c.skipped) {
      row("skip", c.name, c.skipped);
      continue;
    }
    const reboot =
      c.rebootSeconds !== undefined ? `, after a reboot of ${c.rebootSeconds.toFixed(1)} s` : "";
    row(c.ok ? "ok" : "FAIL", c.name, `${c.seconds.toFixed(1)} s${reboot}`);
    for (const f of c.failures) lines.push(`        ${f}`);
    if (c.error) lines.push(`        ${c.error.split("\n").join("\n        ")}`);
    if (!c.ok && c.output.trim()) {
      const tail = c.output.trimEnd().split("\n").slice(-10);
      lines.push("        output (last lines):", ...tail.map((l) => `        | ${l}`));
    }
  }
  if (result.error) {
    lines.push(`error[${result.error.code}]: ${result.error.message}`);
    if (result.error.hint) lines.push(`  hint: ${result.error.hint}`);
  }
  const run = result.checks.filter((c) => !c.skipped);
  const passed = run.filter((c) => c.ok).length;
  lines.push(
    `${passed} of ${result.checks.length} checks passed${result.failed.length > 0 ? `; failed: ${result.failed.join(", ")}` : ""}`,
  );
  lines.push(
    `reports: ${result.reports.junit}, ${result.reports.json}; console: ${result.reports.console}`,
  );
  return `${lines.join("\n")}\n`;
}
