/**
 * The remote layer cache against a real registry: Debian's docker-registry, started by the
 * test on 127.0.0.1 with its own storage directory, reached through skopeo. Two caches stand
 * for two machines: what A pushes, B pulls whole and checked; a second push sends nothing; a
 * missing tag is a miss; a blob changed in the registry's storage is refused and nothing
 * enters B's cache; a registry that is down is E_REMOTE_UNAVAILABLE, one that refuses the
 * credentials E_REMOTE_AUTH.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { sha256 } from "../../src/cache/canonical.js";
import { checkRemoteRef, RemoteCache } from "../../src/cache/remote.js";
import { Cache } from "../../src/cache/store.js";
import type { StrataError } from "../../src/errors.js";
import { tempDir } from "../helpers.js";
import {
  freePort,
  htpasswdLine,
  REGISTRY_SKIP as skip,
  startRegistry,
  writeAuthFile,
} from "../registry.js";

/** A committed entry in `cache` whose module is `data`. */
async function entry(cache: Cache, name: string, data: Buffer) {
  const key = sha256(`key of ${name} ${data.length}`);
  const staged = cache.workDir("test");
  writeFileSync(join(staged, "module.sqfs"), data);
  const meta = {
    key,
    name,
    digest: sha256(data),
    bytes: data.length,
    created: "2026-12-07T00:00:00Z",
    seconds: 1,
    manifest: { name },
    packages: [{ name: "bash", version: "5.2", arch: "amd64" }],
  };
  writeFileSync(join(staged, "meta.json"), JSON.stringify(meta));
  return cache.commit(key, staged);
}

describe("remote layer cache in an OCI registry", { skip }, () => {
  const work = tempDir("strata-remote-");
  let registry: ChildProcess;
  let ref: string;
  const machine = (n: string) => {
    const c = new Cache(join(work, n));
    c.ensure();
    return c;
  };
  const a = machine("a");
  const b = machine("b");

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

  it("pushes an entry that B pulls whole, checked, into its own cache; a second push sends nothing", async () => {
    const remote = new RemoteCache(ref, { insecure: true });
    const built = await entry(a, "base", Buffer.alloc(300_000, 7));
    assert.equal(await remote.push(a, built), "pushed");
    assert.equal(await remote.push(a, built), "present");

    const pulled = await remote.pull(b, built.meta.key, "base");
    assert.ok(pulled);
    assert.deepEqual(readFileSync(pulled.module), readFileSync(built.module));
    assert.deepEqual(pulled.meta, built.meta);
    assert.deepEqual(b.get(built.meta.key)?.meta, built.meta);
    assert.equal(await b.verify(built.meta.key), true);
    // Nothing is left in B's work directory.
    assert.deepEqual(readdirSync(join(b.dir, "tmp")), []);
  });

  it("misses a key the registry does not hold", async () => {
    const remote = new RemoteCache(ref, { insecure: true });
    assert.equal(await remote.pull(b, sha256("no such layer"), "app"), undefined);
  });

  it("refuses a module changed in the registry's storage: nothing enters the cache", async () => {
    const remote = new RemoteCache(ref, { insecure: true });
    const built = await entry(a, "app", Buffer.alloc(50_000, 1));
    await remote.push(a, built);
    // The registry stores blobs by digest: change the module's bytes there, size kept.
    const hex = built.meta.digest;
    const data = join(
      work,
      "registry/storage/docker/registry/v2/blobs/sha256",
      hex.slice(0, 2),
      hex,
      "data",
    );
    const bytes = readFileSync(data);
    bytes.writeUInt8(bytes.readUInt8(100) ^ 0xff, 100);
    writeFileSync(data, bytes);
    await assert.rejects(
      remote.pull(b, built.meta.key, "app"),
      (e: StrataError) => e.code === "E_REMOTE_CACHE" && /layer 'app' \(/.test(e.message),
    );
    assert.equal(b.get(built.meta.key), undefined);
    assert.deepEqual(readdirSync(join(b.dir, "tmp")), []);
  });

  it("names refused credentials E_REMOTE_AUTH, with the auth file, apart from a registry that is down", async () => {
    const dir = join(work, "auth-registry");
    mkdirSync(dir);
    writeFileSync(join(dir, "htpasswd"), htpasswdLine("alice", "s3cret"));
    const port = await freePort();
    const locked = await startRegistry(dir, port, { htpasswd: join(dir, "htpasswd") });
    try {
      const file = writeAuthFile(join(dir, "wrong.json"), `127.0.0.1:${port}`, "alice", "nope");
      const remote = new RemoteCache(`127.0.0.1:${port}/team/cache`, {
        insecure: true,
        authFile: file,
      });
      await assert.rejects(
        remote.pull(b, sha256("y"), "base"),
        (e: StrataError) =>
          e.code === "E_REMOTE_AUTH" &&
          e.message.includes(file) &&
          /wrong\.json/.test(e.hint ?? ""),
      );
      const built = await entry(a, "top", Buffer.alloc(1000, 3));
      await assert.rejects(remote.push(a, built), (e: StrataError) => e.code === "E_REMOTE_AUTH");
    } finally {
      locked.kill();
    }
  });

  it("says when the registry cannot be reached, and takes --insecure for loopback only", async () => {
    const down = new RemoteCache(`127.0.0.1:${await freePort()}/team/cache`, { insecure: true });
    await assert.rejects(
      down.pull(b, sha256("x"), "base"),
      (e: StrataError) => e.code === "E_REMOTE_UNAVAILABLE" && /pulling layer/.test(e.message),
    );
    assert.throws(
      () => checkRemoteRef("registry.example/team/cache", { insecure: true }),
      (e: StrataError) => e.code === "E_USAGE" && /loopback/.test(e.message),
    );
    assert.throws(
      () => checkRemoteRef("registry.example/team/cache:latest"),
      /not a registry repository/,
    );
    checkRemoteRef("registry.example:5000/team/strata-cache");
  });
});
