/**
 * Writes a build's report: `report.json` in the output directory always, and the HTML page
 * when asked. The report is validated first, so a reader never meets a file that breaks the
 * schema; each file is written beside its target and renamed, so it is complete or absent.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { StrataError } from "../errors.js";
import { renderReportHtml } from "./html.js";
import { BuildReport } from "./schema.js";

export const REPORT_FILE = "report.json";

export interface WrittenReport {
  /** Absolute path of report.json. */
  json: string;
  /** Absolute path of the HTML report, when one was written. */
  html?: string;
}

function writeAtomic(file: string, content: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    writeFileSync(tmp, content, { flush: true });
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Validates `report`, writes `<dir>/report.json` and, if `html` (a file path) is given, the
 * HTML page there. Throws StrataError E_OUTPUT, writing nothing, when the report is invalid. */
export function writeReport(dir: string, report: BuildReport, html?: string): WrittenReport {
  const parsed = BuildReport.safeParse(report);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new StrataError("E_OUTPUT", `invalid build report: ${issues.join("; ")}`, {
      hint: "this is a bug in strata; please report it",
      cause: parsed.error,
    });
  }
  const json = resolve(join(dir, REPORT_FILE));
  writeAtomic(json, `${JSON.stringify(parsed.data, null, 2)}\n`);
  if (html === undefined) return { json };
  const page = resolve(html);
  writeAtomic(page, renderReportHtml(parsed.data));
  return { json, html: page };
}
