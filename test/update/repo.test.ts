/** The repository writer: content-addressed, idempotent, numbered in publish order, gc. */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { sha256 } from "../../src/cache/canonical.js";
import { parseChannel } from "../../src/update/manifest.js";
import { addRelease, gcRepo, type ReleaseInput, withRepoLock } from "../../src/update/repo.js";
import { randomFile, tempDir } from "../helpers.js";

const files = tempDir("strata-files-");
const file = (name: string, bytes: number) => randomFile(files, name, bytes);
const base = { name: "base", ...file("base", 4096) };
const vmlinuz = file("vmlinuz", 1000);
const initrd = file("initrd", 2000);
const release = (app: string): ReleaseInput => ({
  recipe: "kiosk",
  arch: "amd64",
  root: "immutable",
  kernel: "6.12",
  cmdline: "boot=strata strata.version=1 panic=10",
  vmlinuz,
  initrd,
  layers: [base, { name: "app", ...file(`app-${app}`, 3000) }],
});
/** A fake signer: the signature is the file's digest (the real one is tested in keys.test). */
const sign = async (f: string) => writeFileSync(`${f}.sig`, sha256(readFileSync(f)));
const opts = { channel: "stable", sign, validSeconds: 3600, now: 1_000_000 };

describe("update repository", () => {
  const repo = tempDir("strata-repo-");
  after(() => {
    rmSync(repo, { recursive: true, force: true });
    rmSync(files, { recursive: true, force: true });
  });

  it("adds versions in order, shares files by digest, and signs manifest and channel", async () => {
    const r1 = release("1");
    const v1 = await addRelease(repo, r1, opts);
    assert.equal(v1.version, 1);
    assert.deepEqual(
      v1.added.map((f) => f.path).sort(),
      [
        `boot/${initrd.digest}`,
        `boot/${vmlinuz.digest}`,
        "channels/stable.json",
        "channels/stable.json.sig",
        `layers/${base.digest}.sqfs`,
        `layers/${r1.layers[1]?.digest}.sqfs`,
        "versions/1/manifest.json",
        "versions/1/manifest.json.sig",
      ].sort(),
    );
    const m1 = readFileSync(join(repo, "versions/1/manifest.json"), "utf8");
    assert.match(m1, /"cmdline": "boot=strata strata.version=1 panic=10"/);

    const r2 = release("2");
    const v2 = await addRelease(repo, r2, opts);
    assert.equal(v2.version, 2);
    assert.equal(v2.serial, 2);
    assert.deepEqual(
      v2.added.map((f) => f.path).sort(),
      [
        "channels/stable.json",
        "channels/stable.json.sig",
        `layers/${r2.layers[1]?.digest}.sqfs`,
        "versions/2/manifest.json",
        "versions/2/manifest.json.sig",
      ].sort(),
    );
    assert.match(
      readFileSync(join(repo, "versions/2/manifest.json"), "utf8"),
      /strata\.version=2 /,
    );
    const channel = parseChannel(readFileSync(join(repo, "channels/stable.json"), "utf8"));
    assert.equal(channel.version, 2);
    assert.equal(channel.expires, 1_000_000 + 3600);
    assert.equal(channel.manifest, sha256(readFileSync(join(repo, "versions/2/manifest.json"))));
    assert.equal(
      readFileSync(join(repo, "channels/stable.json.sig"), "utf8"),
      sha256(readFileSync(join(repo, "channels/stable.json"))),
    );

    // The same build again: nothing written, not even the channel.
    const before = statSync(join(repo, "channels/stable.json")).mtimeMs;
    const again = await addRelease(repo, r2, opts);
    assert.deepEqual(again, { version: 2, changed: false, serial: 2, added: [] });
    assert.equal(statSync(join(repo, "channels/stable.json")).mtimeMs, before);

    // Another channel taking the same build points at the same version.
    const beta = await addRelease(repo, r2, { ...opts, channel: "beta" });
    assert.equal(beta.version, 2);
    assert.deepEqual(
      beta.added.map((f) => f.path),
      ["channels/beta.json", "channels/beta.json.sig"],
    );
    assert.deepEqual(readdirSync(join(repo, "versions")).sort(), ["1", "2"]);
  });

  it("refuses a channel of another recipe, and a file whose size changed", async () => {
    await assert.rejects(
      addRelease(repo, { ...release("3"), recipe: "other" }, opts),
      (e: Error & { code?: string }) => e.code === "E_PUBLISH" && /is for kiosk/.test(e.message),
    );
    // Replaced, not written in place: repository files are hard links to the build's.
    rmSync(join(repo, `layers/${base.digest}.sqfs`));
    writeFileSync(join(repo, `layers/${base.digest}.sqfs`), "short");
    await assert.rejects(
      addRelease(repo, release("4"), opts),
      (e: Error & { code?: string }) => e.code === "E_PUBLISH" && /another size/.test(e.message),
    );
  });

  it("gc keeps the channels' versions and the newest, and the files they use", async () => {
    const r = tempDir("strata-repo-");
    try {
      const rels = ["a", "b", "c", "d"].map(release);
      for (const rel of rels) await addRelease(r, rel, opts);
      // beta stays on version 1.
      await addRelease(r, rels[0] as ReleaseInput, { ...opts, channel: "beta" });
      const result = gcRepo(r, 1);
      assert.deepEqual(result.keptVersions, [1, 4]);
      assert.deepEqual(readdirSync(join(r, "versions")).sort(), ["1", "4"]);
      const appOf = (i: number) => `layers/${rels[i]?.layers[1]?.digest}.sqfs`;
      assert.ok(existsSync(join(r, appOf(0))) && existsSync(join(r, appOf(3))));
      assert.ok(!existsSync(join(r, appOf(1))) && !existsSync(join(r, appOf(2))));
      assert.ok(existsSync(join(r, `layers/${base.digest}.sqfs`)));
      assert.ok(result.removed.some((f) => f.path === appOf(1) && f.bytes === 3000));
    } finally {
      rmSync(r, { recursive: true, force: true });
    }
  });

  it("numbers two publishes at once one after the other, under the repository's lock", async () => {
    const r = tempDir("strata-repo-");
    try {
      const waits: string[] = [];
      // A signer that yields, so without the lock both would number their release 1.
      const slowSign = async (f: string) => {
        await new Promise((done) => setTimeout(done, 100));
        await sign(f);
      };
      const one = (app: string) =>
        withRepoLock(
          r,
          (holder) => waits.push(holder),
          () => addRelease(r, release(app), { ...opts, sign: slowSign }),
        );
      const results = await Promise.all([one("x"), one("y")]);
      assert.deepEqual(results.map((p) => p.version).sort(), [1, 2]);
      assert.equal(parseChannel(readFileSync(join(r, "channels/stable.json"), "utf8")).serial, 2);
      assert.deepEqual(waits, [String(process.pid)], "the second waited for the first");
      assert.equal(readFileSync(join(r, ".lock"), "utf8"), "", "released: it names no holder");
    } finally {
      rmSync(r, { recursive: true, force: true });
    }
  });
});
