/**
 * The layer cache checks an entry before it is used: the module's size on every lookup, its
 * digest once per build on demand. A damaged entry is a miss, says why, and is evicted when the
 * cache is locked (and only then: `strata plan` takes no lock).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Cache } from "../../src/cache/store.js";
import { tempDir } from "../helpers.js";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A cache entry whose meta.json tells the truth about its module. */
function entry(cacheDir: string, key: string, content = "a squashfs module, in a test"): string {
  const dir = join(cacheDir, "layers", key);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "module.sqfs"), content);
  const meta = {
    key,
    name: `layer-${key.slice(0, 4)}`,
    digest: createHash("sha256").update(content).digest("hex"),
    bytes: Buffer.byteLength(content),
    created: "",
    seconds: 0,
    manifest: {},
    packages: [],
  };
  writeFileSync(join(dir, "meta.json"), JSON.stringify(meta));
  return join(dir, "module.sqfs");
}

function flipByte(file: string, at: number): void {
  const bytes = readFileSync(file);
  bytes[at] = (bytes[at] as number) ^ 0xff;
  writeFileSync(file, bytes);
}

function newCache(): Cache {
  const dir = tempDir("strata-cache-");
  dirs.push(dir);
  return new Cache(dir);
}

describe("Cache.get", () => {
  it("returns an entry whose module has the recorded size", () => {
    const cache = newCache();
    const module = entry(cache.dir, "a".repeat(64));
    assert.equal(cache.get("a".repeat(64))?.module, module);
    assert.equal(cache.damage("a".repeat(64)), undefined);
  });

  it("treats a truncated module as a miss, says why, and leaves it without the lock", () => {
    const cache = newCache();
    const key = "b".repeat(64);
    truncateSync(entry(cache.dir, key, "0123456789"), 4);
    assert.equal(cache.get(key), undefined);
    assert.equal(cache.damage(key), "4 bytes, expected 10");
    assert.equal(existsSync(cache.entryDir(key)), true, "no lock: nothing is removed");
    // `cache ls` and gc still see it, so that gc can remove it.
    assert.deepEqual(
      cache.list().map((e) => e.meta.key),
      [key],
    );
  });

  it("evicts a truncated module when it holds the lock", async () => {
    const cache = newCache();
    const key = "c".repeat(64);
    truncateSync(entry(cache.dir, key, "0123456789"), 0);
    const lock = await cache.lock(() => {});
    try {
      assert.equal(cache.get(key), undefined);
      assert.equal(cache.damage(key), "0 bytes, expected 10");
      assert.equal(existsSync(cache.entryDir(key)), false);
    } finally {
      lock.release();
    }
  });
});

describe("Cache.verify", () => {
  it("accepts a module with its recorded digest, and hashes it once", async () => {
    const cache = newCache();
    const key = "d".repeat(64);
    const module = entry(cache.dir, key);
    assert.equal(await cache.verify(key), true);
    // Changed after the check: the build's answer stands (one hash per module per build)...
    flipByte(module, 3);
    assert.equal(await cache.verify(key), true);
    // ...and a new build (a new Cache) hashes it again.
    assert.equal(await new Cache(cache.dir).verify(key), false);
  });

  it("does not hash again a module unchanged since its last check, and does once it changes", async () => {
    const cache = newCache();
    const key = "f".repeat(64);
    const module = entry(cache.dir, key);
    assert.equal(await cache.verify(key), true);
    // The recorded digest is wrong now, but the module is as it was when it was hashed.
    const metaFile = join(cache.entryDir(key), "meta.json");
    const meta = JSON.parse(readFileSync(metaFile, "utf8")) as { digest: string };
    writeFileSync(metaFile, JSON.stringify({ ...meta, digest: "0".repeat(64) }));
    assert.equal(await new Cache(cache.dir).verify(key), true);
    // A byte flipped with the old mtime put back still changes ctime: hashed, and found.
    writeFileSync(metaFile, JSON.stringify(meta));
    const { atime, mtime } = statSync(module);
    flipByte(module, 2);
    utimesSync(module, atime, mtime);
    assert.equal(await new Cache(cache.dir).verify(key), false);
  });

  it("finds a flipped byte (same size), says why and evicts it under the lock", async () => {
    const cache = newCache();
    const key = "e".repeat(64);
    flipByte(entry(cache.dir, key), 5);
    assert.ok(cache.get(key), "same size: the cheap check passes");
    const lock = await cache.lock(() => {});
    try {
      assert.equal(await cache.verify(key), false);
      assert.match(cache.damage(key) ?? "", /^sha256 [0-9a-f]{12}…, expected [0-9a-f]{12}…$/);
      assert.equal(existsSync(cache.entryDir(key)), false);
      assert.equal(cache.get(key), undefined);
    } finally {
      lock.release();
    }
  });
});

describe("Cache.commit", () => {
  it("moves a staged entry into place and counts it as verified", async () => {
    const cache = newCache();
    cache.ensure();
    const key = "f".repeat(64);
    const staged = cache.workDir("staged");
    const module = entry(cache.dir, "0".repeat(64));
    // Stage a copy of a good entry under tmp/, as a layer build does.
    for (const name of ["module.sqfs", "meta.json"])
      writeFileSync(join(staged, name), readFileSync(join(module, "..", name)));
    const committed = await cache.commit(key, staged);
    assert.equal(committed.module, join(cache.entryDir(key), "module.sqfs"));
    assert.equal(existsSync(staged), false);
    // Its digest was computed when it was packed: not hashed again in this build.
    flipByte(committed.module, 0);
    assert.equal(await cache.verify(key), true);
  });

  it("writes the index durably and reads it back", () => {
    const cache = newCache();
    cache.ensure();
    cache.writeIndex("r", { base: { key: "k" } });
    assert.deepEqual(cache.readIndex("r"), { base: { key: "k" } });
    assert.equal(existsSync(join(cache.dir, "index", "r.json.tmp")), false);
  });
});
