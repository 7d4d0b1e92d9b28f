import assert from "node:assert/strict";
import { it } from "node:test";
import type { DoctorReport } from "../../src/commands/doctor.js";
import { cli, isRoot, writeRecipe } from "../helpers.js";

it("doctor names the package of every missing tool", () => {
  const r = cli(["doctor", "--json"], { PATH: "/nonexistent" });
  assert.equal(r.code, 1);
  const report = JSON.parse(r.stdout) as DoctorReport;
  const bwrap = report.checks.find((c) => c.name === "bwrap");
  assert.equal(bwrap?.ok, false);
  assert.equal(bwrap?.fix, "apt-get install bubblewrap");
  assert.equal(
    report.checks.find((c) => c.name === "mmdebstrap")?.fix,
    "apt-get install mmdebstrap",
  );
  assert.ok(report.checks.some((c) => c.name === "kernel: overlay"));
});

it(
  "build refuses to start without its tools, naming the packages",
  {
    skip: !isRoot && "needs root",
  },
  () => {
    const recipe = writeRecipe(
      "name: t\nlayers:\n  - name: base\n    bootstrap: { variant: minbase }\n",
    );
    const r = cli(["build", recipe, "--cache-dir", "/nonexistent/cache"], { PATH: "/nonexistent" });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /error\[E_TOOL_MISSING\]: missing host tools: mmdebstrap \(package mmdebstrap\), bwrap \(package bubblewrap\)/,
    );
    assert.match(r.stderr, /hint: apt-get install mmdebstrap bubblewrap squashfs-tools/);
  },
);
