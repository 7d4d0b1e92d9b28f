// The run step hands its script, env and network choice to the layer's shell as they are.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Step } from "../../src/recipe/schema.js";
import { runStep } from "../../src/steps/run.js";
import type { ShOptions, StepContext } from "../../src/steps/types.js";

async function shCalls(value: unknown): Promise<[string, ShOptions | undefined][]> {
  const calls: [string, ShOptions | undefined][] = [];
  const ctx = {
    sh: async (script: string, options?: ShOptions) => {
      calls.push([script, options]);
      return "";
    },
  } as unknown as StepContext;
  await runStep.run(ctx, Step.parse({ run: value }).run as never);
  return calls;
}

describe("run step", () => {
  it("has no network unless the step asks for it", async () => {
    assert.deepEqual(await shCalls("make"), [["make", { env: {} }]]);
    assert.deepEqual(await shCalls({ script: "make", env: { A: "1" } }), [
      ["make", { env: { A: "1" } }],
    ]);
    assert.deepEqual(await shCalls({ script: "make", network: false }), [["make", { env: {} }]]);
    assert.deepEqual(await shCalls({ script: "curl -O x", network: true }), [
      ["curl -O x", { env: {}, network: true }],
    ]);
  });

  it("takes env names a shell can use, and a boolean network", () => {
    assert.equal(Step.safeParse({ run: { script: "x", env: { "A B": "1" } } }).success, false);
    assert.equal(Step.safeParse({ run: { script: "x", env: { A: "a\0b" } } }).success, false);
    assert.equal(Step.safeParse({ run: { script: "x", network: "yes" } }).success, false);
  });
});
