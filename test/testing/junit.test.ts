/** The JUnit XML report: counts, cases, and escaping whatever the console printed. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { junitXml, type JUnitSuite, xmlEscape } from "../../src/testing/junit.js";

describe("xmlEscape", () => {
  it("escapes the five XML entities", () => {
    assert.equal(
      xmlEscape(`<a href="x">&'</a>`),
      "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;",
    );
  });

  it("replaces characters XML 1.0 forbids, keeps tabs, newlines and Unicode", () => {
    assert.equal(xmlEscape("a\x1b[0m\x00b\x07"), "a\uFFFD[0m\uFFFDb\uFFFD");
    assert.equal(xmlEscape("tab\tnl\ncr\r ✓ 😀"), "tab\tnl\ncr\r ✓ 😀");
    assert.equal(xmlEscape("\uFFFE\uD800"), "\uFFFD\uFFFD");
  });
});

const suite: JUnitSuite = {
  name: "kiosk",
  timestamp: "2026-01-01T00:00:00.000Z",
  seconds: 61.5,
  properties: { accel: "tcg", secondsToLogin: "52.250", unset: undefined },
  cases: [
    { name: "boot to the login prompt", seconds: 52.25, failures: [] },
    { name: "passes", seconds: 0.5, failures: [], output: "fine\n" },
    {
      name: `status <"quoted">`,
      seconds: 1,
      failures: ["expected status 0, got 3", "output did not match /a&b/"],
      output: "\x1b[31mred & <bold>\x1b[0m",
    },
    { name: "errs", seconds: 0, failures: [], error: "reboot failed: timed out\nlast lines" },
    { name: "later", seconds: 0, failures: [], skipped: "not run: an earlier check failed" },
  ],
};

describe("junitXml", () => {
  const xml = junitXml(suite);

  it("counts tests, failures, errors and skipped", () => {
    assert.match(
      xml,
      /<testsuites name="strata test" tests="5" failures="1" errors="1" skipped="1" time="61\.500">/,
    );
    assert.match(xml, /<testsuite name="kiosk" timestamp="2026-01-01T00:00:00\.000Z" tests="5"/);
  });

  it("records the properties that are set", () => {
    assert.match(xml, /<property name="accel" value="tcg"\/>/);
    assert.match(xml, /<property name="secondsToLogin" value="52\.250"\/>/);
    assert.doesNotMatch(xml, /unset/);
  });

  it("writes one testcase per case, with failure, error and skipped elements", () => {
    assert.match(
      xml,
      /<testcase name="passes" classname="strata\.kiosk" time="0\.500">\n\s+<system-out>fine\n<\/system-out>/,
    );
    assert.match(
      xml,
      /<testcase name="status &lt;&quot;quoted&quot;&gt;" [^>]*>\n\s+<failure message="expected status 0, got 3; output did not match \/a&amp;b\/" type="check">expected status 0, got 3\noutput did not match \/a&amp;b\/<\/failure>/,
    );
    assert.match(xml, /<system-out>\uFFFD\[31mred &amp; &lt;bold&gt;\uFFFD\[0m<\/system-out>/);
    assert.match(
      xml,
      /<error message="reboot failed: timed out" type="error">reboot failed: timed out\nlast lines<\/error>/,
    );
    assert.match(xml, /<skipped message="not run: an earlier check failed"\/>/);
    assert.match(
      xml,
      /<testcase name="boot to the login prompt" classname="strata\.kiosk" time="52\.250"\/>/,
    );
  });

  it("is well-formed: every element that opens closes", () => {
    assert.ok(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n'));
    const body = xml.replace(/<\?xml[^>]*\?>/, "").replace(/<[^>]+\/>/g, "");
    const stack: string[] = [];
    for (const [, close, tag] of body.matchAll(/<(\/?)([a-z-]+)[^>]*>/g)) {
      if (close) assert.equal(stack.pop(), tag);
      else stack.push(tag as string);
    }
    assert.deepEqual(stack, []);
    assert.doesNotMatch(xml, /[\x00-\x08\x0b\x0c\x0e-\x1f]/);
  });
});
