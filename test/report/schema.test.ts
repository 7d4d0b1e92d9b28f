/** The report schema accepts what a build writes and rejects what would mislead a reader. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { BuildReport } from "../../src/report/schema.js";
import { fakeReport } from "./fixture.js";

test("the fixture is a valid report and survives a JSON round trip", () => {
  const r = fakeReport();
  assert.deepEqual(BuildReport.parse(r), r);
  assert.deepEqual(BuildReport.parse(JSON.parse(JSON.stringify(r))), r);
});

test("the format string is pinned", () => {
  const bad = { ...fakeReport(), format: "strata-report/2" };
  assert.equal(BuildReport.safeParse(bad).success, false);
});

test("negative or non-finite times and fractional bytes are rejected", () => {
  const r = fakeReport();
  const layer = r.layers[1]!;
  for (const l of [
    { ...layer, seconds: -1 },
    { ...layer, startedAt: Number.NaN },
    { ...layer, seconds: Number.POSITIVE_INFINITY },
    { ...layer, bytes: 1.5 },
    { ...layer, steps: [{ label: "x", seconds: -0.1 }] },
  ]) {
    assert.equal(BuildReport.safeParse({ ...r, layers: [l] }).success, false, JSON.stringify(l));
  }
});

test("unknown keys, bad statuses and malformed packages are rejected", () => {
  const r = fakeReport();
  const layer = r.layers[0]!;
  assert.equal(BuildReport.safeParse({ ...r, extra: 1 }).success, false);
  assert.equal(
    BuildReport.safeParse({ ...r, layers: [{ ...layer, status: "skipped" }] }).success,
    false,
  );
  const changedWithoutTo = { ...layer.packages, changed: [{ name: "libc6", from: "1" }] };
  assert.equal(
    BuildReport.safeParse({ ...r, layers: [{ ...layer, packages: changedWithoutTo }] }).success,
    false,
  );
});

test("startTime must be an ISO date-time; a bootstrap layer has a null parent", () => {
  assert.equal(BuildReport.safeParse(fakeReport({ startTime: "yesterday" })).success, false);
  assert.equal(
    BuildReport.safeParse(fakeReport({ startTime: "2025-06-01T14:00:00+02:00" })).success,
    true,
  );
  const r = fakeReport();
  assert.equal(r.layers[0]!.parent, null);
  assert.equal(
    BuildReport.safeParse({ ...r, layers: [{ ...r.layers[0]!, parent: "" }] }).success,
    false,
  );
});

test("an empty build (no layers, no outputs) is still a report", () => {
  assert.equal(
    BuildReport.safeParse(fakeReport({ layers: [], outputs: [], seconds: 0 })).success,
    true,
  );
});
