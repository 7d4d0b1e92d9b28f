/** The build report: its schema, the HTML page, and the writer (see the files for details). */
export { renderReportHtml } from "./html.js";
export {
  BuildReport,
  LayerReport,
  OutputReport,
  REPORT_FORMAT,
  ReportPackage,
  ReportPackageChange,
  ReportStep,
} from "./schema.js";
export { REPORT_FILE, type WrittenReport, writeReport } from "./write.js";
