/**
 * A remote layer cache that fails mid-way, through a proxy in the test in front of Debian's
 * docker-registry on 127.0.0.1: the registry stopped in the middle of a push, and a module
 * blob that arrives changed. Nothing corrupt enters either cache (the local entries still
 * verify; every tag in the registry names whole blobs), the next push completes what was cut
 * off, and the builds go on.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { BuildResult } from "../../src/build/build.js";
import { needsRoot, TEST_CACHE, tempDir } from "../helpers.js";
import { startProxy, type RegistryProxy } from "../registry-proxy.js";
import { freePort, REGISTRY_SKIP, registryTags, startRegistry } from "../registry.js";
import { allVerify, digests, minimalBuilds, warningsAbout } from "./remote-helpers.js";

const REPO = "team/strata-cache";

describe("a remote layer cache that fails mid-way", { skip: needsRoot || REGISTRY_SKIP }, () => {
  const work = tempDir("strata-remote-faults-");
  const build = minimalBuilds(work);
  const store = join(work, "registry");
  let port: number;
  let registry: ChildProcess | undefined;
  const proxies: RegistryProxy[] = [];
  /** A proxy in front of the registry, and the cache reference through it. */
  const proxied = async (hooks: Parameters<typeof startProxy>[1]) => {
    const proxy = await startProxy(port, hooks);
    proxies.push(proxy);
    return { proxy, ref: `127.0.0.1:${proxy.port}/${REPO}` };
  };
  /** A's build, on the shared cache, whose layers the registry ends up holding. */
  let a: BuildResult;

  before(async () => {
    mkdirSync(store);
    port = await freePort();
    registry = await startRegistry(store, port);
  });
  after(async () => {
    for (const p of proxies) await p.close();
    registry?.kill();
    rmSync(work, { recursive: true, force: true });
  });

  it("the registry stopped mid-push: no half-pushed tag, the local cache whole, the next push completes it", async () => {
    let stopped = false;
    const { proxy, ref } = await proxied({
      // Once a whole layer (its manifest) is in, stop the registry inside the next module blob.
      onUpload(req, bytes) {
        const oneTagIn = proxy.log.some((l) => /^PUT \S+\/manifests\/\S+ 201$/.test(l));
        if (stopped || !oneTagIn || req.method !== "PATCH" || bytes < 256 * 1024) return;
        stopped = true;
        registry?.kill("SIGKILL");
      },
    });
    const cut = await build(TEST_CACHE, ["--insecure", "--cache-to", ref]);
    assert.equal(stopped, true, "the push was not stopped in the middle of a blob");
    const warnings = warningsAbout(cut.stderr, ref);
    assert.equal(warnings.length, 1, cut.stderr);
    assert.match(warnings[0] ?? "", /E_REMOTE_UNAVAILABLE.*going on without/);
    const [base, system] = cut.result.layers;
    assert.equal(base?.pushedTo, ref);
    assert.equal(system?.pushedTo, undefined);
    assert.equal(await allVerify(TEST_CACHE, cut.result), true);

    registry = await startRegistry(store, port);
    assert.deepEqual(await registryTags(port, REPO), [{ tag: base?.key, whole: true }]);

    const again = await build(TEST_CACHE, ["--insecure", "--cache-to", ref]);
    assert.deepEqual(
      again.result.layers.map((l) => [l.name, l.pushedTo]),
      [
        ["base", undefined],
        ["system", ref],
      ],
    );
    const tags = await registryTags(port, REPO);
    assert.deepEqual(tags.map((t) => t.whole).sort(), [true, true]);
    a = again.result;
  });

  it("a module blob changed on the way: discarded with an error naming the layer, taken from the next remote", async () => {
    assert.ok(a, "needs the registry filled by the test before");
    const system = a.layers.find((l) => l.name === "system");
    let served = 0;
    const { ref } = await proxied({
      corrupt: (req) => {
        const hit = req.method === "GET" && req.url?.endsWith(`/blobs/${system?.digest}`);
        if (hit) served++;
        return hit === true;
      },
    });
    const direct = `127.0.0.1:${port}/${REPO}`;
    const cacheB = join(work, "cache-b");
    const b = await build(cacheB, ["--insecure", "--cache-from", ref, "--cache-from", direct]);
    assert.ok(served > 0, "the proxy served no changed blob");
    assert.match(b.stderr, /error\[E_REMOTE_CACHE\]: layer 'system' \(/);
    assert.deepEqual(
      b.result.layers.map((l) => [l.name, l.pulledFrom]),
      [
        ["base", ref],
        ["system", direct],
      ],
    );
    assert.deepEqual(digests(b.result), digests(a));
    assert.equal(await allVerify(cacheB, b.result), true);
  });
});
