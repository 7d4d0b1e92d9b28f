/** writeReport: validated, atomic, HTML only when asked, nothing written for a bad report. */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { StrataError } from "../../src/errors.js";
import { renderReportHtml } from "../../src/report/html.js";
import { BuildReport } from "../../src/report/schema.js";
import { writeReport } from "../../src/report/write.js";
import { tempDir } from "../helpers.js";
import { fakeReport } from "./fixture.js";

const dirs: string[] = [];
const fresh = () => {
  const d = tempDir("strata-report-");
  dirs.push(d);
  return d;
};
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

test("report.json is always written, and is valid", () => {
  const dir = fresh();
  const r = fakeReport();
  const out = writeReport(dir, r);
  assert.equal(out.json, join(dir, "report.json"));
  assert.equal(out.html, undefined);
  assert.deepEqual(BuildReport.parse(JSON.parse(readFileSync(out.json, "utf8"))), r);
  assert.deepEqual(readdirSync(dir), ["report.json"], "no temporary files left");
});

test("the HTML goes where asked (creating its directory) and replaces an old one", () => {
  const dir = fresh();
  const page = join(dir, "sub", "report.html");
  const out = writeReport(dir, fakeReport(), page);
  assert.equal(out.html, page);
  assert.equal(readFileSync(page, "utf8"), renderReportHtml(fakeReport()));
  writeFileSync(page, "old");
  writeReport(dir, fakeReport({ recipe: "other" }), page);
  assert.match(readFileSync(page, "utf8"), /strata build report: other/);
  assert.deepEqual(readdirSync(join(dir, "sub")), ["report.html"]);
});

test("an invalid report throws E_OUTPUT and writes nothing", () => {
  const dir = fresh();
  const bad = { ...fakeReport(), seconds: -1 };
  assert.throws(
    () => writeReport(dir, bad, join(dir, "r.html")),
    (e: unknown) => e instanceof StrataError && e.code === "E_OUTPUT" && /seconds/.test(e.message),
  );
  assert.deepEqual(readdirSync(dir), []);
  assert.equal(existsSync(join(dir, "r.html")), false);
});
