import assert from "node:assert/strict";
import { it } from "node:test";
import { parseIndexTargets } from "../../src/host/mirror.js";

it("finds the Debian and security mirrors by label, or by path without lists", () => {
  const labelled = `http://m.example/debian-security/ Debian-Security
http://m.example/debian/ Debian
https://other.example/apt/ Google`;
  assert.deepEqual(parseIndexTargets(labelled), {
    mirror: "http://m.example/debian",
    security: "http://m.example/debian-security",
  });
  const bare = "http://x.example/debian/ $(LABEL)\nhttp://x.example/debian-security/ $(LABEL)";
  assert.deepEqual(parseIndexTargets(bare), {
    mirror: "http://x.example/debian",
    security: "http://x.example/debian-security",
  });
});
