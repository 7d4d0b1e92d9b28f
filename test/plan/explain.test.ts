import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { explainOrigin } from "../../src/plan/explain.js";

describe("explainOrigin: where --explain says a layer came from", () => {
  const ref = "registry.example/team/strata-cache";
  const built = { cached: false, reason: "rebuilt: changed: steps[0].write.content changed" };

  it("names the local cache, the remote a layer was pulled from, or why it was built", () => {
    assert.equal(explainOrigin({ cached: true, reason: "cached" }), "local cache hit");
    assert.equal(
      explainOrigin({ cached: true, reason: `pulled from ${ref}`, pulledFrom: ref }),
      `pulled from ${ref}`,
    );
    assert.equal(explainOrigin(built), built.reason);
  });

  it("adds the remote this build pushed it to", () => {
    assert.equal(explainOrigin({ ...built, pushedTo: ref }), `${built.reason}; pushed to ${ref}`);
    assert.equal(
      explainOrigin({ cached: true, reason: "cached", pushedTo: ref }),
      `local cache hit; pushed to ${ref}`,
    );
  });
});
