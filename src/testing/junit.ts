/**
 * The JUnit XML report of `strata test`, the format CI systems (GitLab, Jenkins, GitHub
 * actions) show as test results: one suite per recipe, one test case for the boot to the login
 * prompt and one per check, with the failure reasons and the command's output. Pure: text in,
 * text out. Console output may hold any byte, so text is escaped and characters XML 1.0 does
 * not allow are replaced.
 */

export interface JUnitCase {
  name: string;
  seconds: number;
  /** Failure reasons (empty: passed). */
  failures: string[];
  /** Set when the case could not run to a verdict (boot failed, console lost). */
  error?: string;
  /** Set when the case was not run. */
  skipped?: string;
  /** The command's output, or the console's tail. */
  output?: string;
}

export interface JUnitSuite {
  name: string;
  timestamp: string;
  seconds: number;
  properties: Record<string, string | number | undefined>;
  cases: JUnitCase[];
}

/** Text and attribute values: the five XML entities, and no characters XML 1.0 forbids. */
export function xmlEscape(text: string): string {
  return text
    .replace(/[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, "\uFFFD")
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&apos;");
}

const seconds = (s: number) => s.toFixed(3);

function testCase(suite: string, c: JUnitCase): string {
  const open = `    <testcase name="${xmlEscape(c.name)}" classname="${xmlEscape(`strata.${suite}`)}" time="${seconds(c.seconds)}"`;
  const body: string[] = [];
  if (c.skipped !== undefined) body.push(`      <skipped message="${xmlEscape(c.skipped)}"/>`);
  else if (c.error !== undefined) {
    body.push(
      `      <error message="${xmlEscape(c.error.split("\n")[0] ?? "")}" type="error">${xmlEscape(c.error)}</error>`,
    );
  } else if (c.failures.length > 0) {
    body.push(
      `      <failure message="${xmlEscape(c.failures.join("; "))}" type="check">${xmlEscape(c.failures.join("\n"))}</failure>`,
    );
  }
  if (c.output) body.push(`      <system-out>${xmlEscape(c.output)}</system-out>`);
  return body.length === 0 ? `${open}/>` : `${open}>\n${body.join("\n")}\n    </testcase>`;
}

export function junitXml(suite: JUnitSuite): string {
  const count = (f: (c: JUnitCase) => boolean) => suite.cases.filter(f).length;
  const skipped = count((c) => c.skipped !== undefined);
  const errors = count((c) => c.skipped === undefined && c.error !== undefined);
  const failures = count(
    (c) => c.skipped === undefined && c.error === undefined && c.failures.length > 0,
  );
  const totals = `tests="${suite.cases.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${seconds(suite.seconds)}"`;
  const properties = Object.entries(suite.properties)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `      <property name="${xmlEscape(k)}" value="${xmlEscape(String(v))}"/>`);
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="strata test" ${totals}>`,
    `  <testsuite name="${xmlEscape(suite.name)}" timestamp="${xmlEscape(suite.timestamp)}" ${totals}>`,
    ...(properties.length > 0 ? ["    <properties>", ...properties, "    </properties>"] : []),
    ...suite.cases.map((c) => testCase(suite.name, c)),
    `  </testsuite>`,
    `</testsuites>`,
    ``,
  ].join("\n");
}
