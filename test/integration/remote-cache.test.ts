/**
 * Two machines sharing a layer cache through a registry (Debian's docker-registry on
 * 127.0.0.1): A builds examples/minimal and pushes its layers; B, with an empty cache, pulls
 * every layer and builds none, with the same module digests; a changed top layer on B is built
 * there and pushed, and A pulls it. A registry that is down costs one warning, and the build
 * goes on locally.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { needsRoot, TEST_CACHE, tempDir } from "../helpers.js";
import { freePort, REGISTRY_SKIP, startRegistry } from "../registry.js";
import { digests, minimalBuilds, warningsAbout } from "./remote-helpers.js";

describe(
  "a layer cache shared through an OCI registry",
  { skip: needsRoot || REGISTRY_SKIP },
  () => {
    const work = tempDir("strata-remote-");
    let registry: ChildProcess;
    let ref: string;
    const cacheB = join(work, "cache-b");
    const builds = minimalBuilds(work);
    const build = (cache: string, args: string[]) => builds(cache, ["--insecure", ...args]);

    before(async () => {
      mkdirSync(join(work, "registry"));
      const port = await freePort();
      registry = await startRegistry(join(work, "registry"), port);
      ref = `127.0.0.1:${port}/team/strata-cache`;
    });
    after(() => {
      registry?.kill();
      rmSync(work, { recursive: true, force: true });
    });

    it("B pulls every layer A pushed and builds none: the same modules", async () => {
      const a = await build(TEST_CACHE, ["--cache-to", ref]);
      assert.match(a.stderr, /pushed to 127\.0\.0\.1/);
      const b = await build(cacheB, ["--cache-from", ref]);
      assert.deepEqual(digests(b.result), digests(a.result));
      for (const l of b.result.layers) {
        assert.equal(l.pulledFrom, ref, l.name);
        assert.equal(l.steps.length, 0, `${l.name} was built`);
      }
    });

    it("a top layer changed on B is built there and pushed; A pulls it", async () => {
      const set = ["--set", `motd=changed ${Date.now()}`];
      const b = await build(cacheB, [...set, "--cache-from", ref, "--cache-to", ref]);
      const [base, system] = b.result.layers;
      assert.equal(base?.cached, true);
      assert.equal(system?.cached, false);
      const a = await build(TEST_CACHE, [...set, "--cache-from", ref]);
      assert.equal(a.result.layers[1]?.pulledFrom, ref);
      assert.deepEqual(digests(a.result), digests(b.result));
    });

    it("goes on locally, with one warning, when the registry is down", async () => {
      const dead = `127.0.0.1:${await freePort()}/team/strata-cache`;
      const fresh = join(work, "cache-c");
      const c = await build(fresh, ["--cache-from", dead, "--cache-from", ref]);
      const warnings = warningsAbout(c.stderr, dead);
      assert.equal(warnings.length, 1, c.stderr);
      assert.match(warnings[0] ?? "", /going on without/);
      // The second remote still answered.
      assert.ok(c.result.layers.every((l) => l.pulledFrom === ref));
    });
  },
);
