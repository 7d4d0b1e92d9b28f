/**
 * A layer cache in a registry that wants TLS and credentials (Debian's docker-registry with a
 * CA and htpasswd made by the test, on 127.0.0.1): with the auth file and the CA (--cert-dir,
 * the host's CAs untouched) A pushes and B pulls; without the CA, or with a wrong password, the
 * build costs one warning line naming what is wrong and goes on locally.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { needsRoot, TEST_CACHE, tempDir } from "../helpers.js";
import {
  freePort,
  htpasswdLine,
  makeTls,
  REGISTRY_SKIP,
  startRegistry,
  writeAuthFile,
} from "../registry.js";
import { allVerify, digests, minimalBuilds, warningsAbout } from "./remote-helpers.js";

describe(
  "a layer cache in a registry with TLS and htpasswd auth",
  { skip: needsRoot || REGISTRY_SKIP },
  () => {
    const work = tempDir("strata-remote-auth-");
    const build = minimalBuilds(work);
    let registry: ChildProcess;
    let ref: string;
    let tlsArgs: string[];
    let wrong: string;

    before(async () => {
      const tls = makeTls(work);
      writeFileSync(join(work, "htpasswd"), htpasswdLine("alice", "s3cret"));
      const port = await freePort();
      registry = await startRegistry(work, port, { tls, htpasswd: join(work, "htpasswd") });
      const host = `127.0.0.1:${port}`;
      ref = `${host}/team/strata-cache`;
      const good = writeAuthFile(join(work, "auth.json"), host, "alice", "s3cret");
      wrong = writeAuthFile(join(work, "wrong.json"), host, "alice", "not-it");
      tlsArgs = ["--authfile", good, "--cert-dir", tls.certDir];
    });
    after(() => {
      registry?.kill();
      rmSync(work, { recursive: true, force: true });
    });

    it("with the auth file and the CA, A pushes every layer and B pulls them all", async () => {
      const a = await build(TEST_CACHE, ["--cache-to", ref, ...tlsArgs, "--explain"]);
      for (const l of a.result.layers) assert.equal(l.pushedTo, ref, l.name);
      assert.match(a.stderr, new RegExp(`base: local cache hit; pushed to ${ref}`));
      const cacheB = join(work, "cache-b");
      const b = await build(cacheB, ["--cache-from", ref, ...tlsArgs, "--explain"]);
      assert.deepEqual(digests(b.result), digests(a.result));
      for (const l of b.result.layers) assert.equal(l.pulledFrom, ref, l.name);
      assert.match(b.stderr, new RegExp(`system: pulled from ${ref}`));
      assert.equal(await allVerify(cacheB, b.result), true);
    });

    it("without the CA: one warning that the certificate is not trusted", async () => {
      const authOnly = tlsArgs.slice(0, 2);
      const c = await build(TEST_CACHE, ["--cache-to", ref, ...authOnly]);
      const warnings = warningsAbout(c.stderr, ref);
      assert.equal(warnings.length, 1, c.stderr);
      assert.match(
        warnings[0] ?? "",
        /E_REMOTE_UNAVAILABLE.*certificate signed by unknown authority/,
      );
      assert.match(warnings[0] ?? "", /hint: .*--cert-dir/);
      assert.ok(c.result.layers.every((l) => l.pushedTo === undefined));
    });

    it("a wrong password: one E_REMOTE_AUTH warning naming the auth file; built locally", async () => {
      // A top layer no one has pushed: it is looked up (refused), built here, not pushed.
      const set = ["--set", `motd=wrong password ${Date.now()}`];
      const args = [...set, "--cache-from", ref, "--cache-to", ref, ...tlsArgs];
      args[args.indexOf("--authfile") + 1] = wrong;
      const d = await build(TEST_CACHE, args);
      const warnings = warningsAbout(d.stderr, ref);
      assert.equal(warnings.length, 1, d.stderr);
      assert.match(warnings[0] ?? "", /error\[E_REMOTE_AUTH\]: .*refused the credentials of /);
      assert.ok(warnings[0]?.includes(wrong), warnings[0]);
      const system = d.result.layers[1];
      assert.equal(system?.cached, false);
      assert.ok((system?.steps.length ?? 0) > 0);
      assert.equal(system?.pulledFrom, undefined);
      assert.equal(system?.pushedTo, undefined);
    });
  },
);
