// Each step's label (the short text in progress lines and errors) and which steps have their
// own checks or cache input; only `copy` needs either today.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Step } from "../../src/recipe/schema.js";
import { definitionOf, STEPS, type StepKind } from "../../src/steps/index.js";
import { SAMPLES } from "./samples.js";

const LABELS: Record<StepKind, [unknown, string][]> = {
  packages: [[["curl", "vim=2:9.1"], "curl vim=2:9.1"]],
  remove: [[["nano"], "nano"]],
  copy: [[{ from: "files/app", to: "/opt/app" }, "/opt/app"]],
  write: [[{ path: "/etc/motd", content: "hi\n" }, "/etc/motd"]],
  run: [
    ["echo a\necho b", "echo a\necho b"],
    [{ script: "make" }, "make"],
    [{ name: "build", script: "make" }, "build"],
  ],
  services: [[{ enable: ["a"], mask: ["b"] }, "enable,mask"]],
  users: [[[{ name: "bob" }, { name: "alice", uid: 1001 }], "bob alice"]],
  groups: [[[{ name: "web" }], "web"]],
  hostname: [["kiosk", "kiosk"]],
  timezone: [["UTC", "UTC"]],
  locale: [["C.UTF-8", "C.UTF-8"]],
};

describe("step definitions", () => {
  for (const kind of Object.keys(STEPS) as StepKind[]) {
    it(`${kind}: describes its value`, () => {
      for (const [value, label] of LABELS[kind]) {
        const parsed = Step.parse({ [kind]: value })[kind];
        assert.equal(definitionOf(kind).describe(parsed), label);
      }
    });
  }

  it("only copy has its own checks and cache input", () => {
    const withVerify = Object.values(STEPS).filter((d) => "verify" in d);
    const withCache = Object.values(STEPS).filter((d) => "cacheInput" in d);
    assert.deepEqual(
      withVerify.map((d) => d.kind),
      ["copy"],
    );
    assert.deepEqual(
      withCache.map((d) => d.kind),
      ["copy"],
    );
  });

  it("the samples cover every kind", () => {
    assert.deepEqual(Object.keys(SAMPLES).sort(), Object.keys(STEPS).sort());
  });
});
