/**
 * The initramfs's HTTP functions (assets/initramfs-tools/scripts/strata-functions) run on the
 * host with busybox's sh and wget, as the initramfs runs them, against strata's own server: a
 * version's manifest and layers fetched and checked, and the named errors a netboot panics
 * with: a missing file (URL and HTTP status, after the retries), a server that does not
 * answer, a layer whose sha256 is wrong, a layer that does not fit in RAM. With an update
 * keyring (a recipe with `update:`), the manifest's signature is checked with the real gpgv:
 * a good one boots, and a missing, foreign or broken one, or another version's, does not.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type RunningServer, startServer } from "../../src/serve/server.js";
import { generateKey, withSigner } from "../../src/update/keys.js";
import { serializeManifest } from "../../src/update/manifest.js";
import { randomFile, ROOT, tempDir } from "../helpers.js";

const FUNCTIONS = join(ROOT, "assets/initramfs-tools/scripts/strata-functions");
const BUSYBOX = "/usr/bin/busybox";
const skip = existsSync(BUSYBOX) ? false : "needs busybox (apt-get install busybox)";

interface ShResult {
  code: number;
  out: string;
}

/** Runs `script` after sourcing the functions, in busybox's sh; prints STRATA_ERROR on failure. */
function sh(script: string, env: Record<string, string>): Promise<ShResult> {
  return new Promise((done, fail) => {
    const child = spawn(
      BUSYBOX,
      ["sh", "-c", `. "${FUNCTIONS}"; ${script} || { echo "ERROR: $STRATA_ERROR"; exit 1; }`],
      { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, stdio: "pipe" },
    );
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (out += b.toString()));
    child.on("error", fail);
    child.on("close", (code) => done({ code: code ?? -1, out }));
  });
}

/**
 * Serves `repo` on 127.0.0.1; the environment points the functions at busybox's wget (under
 * `work/bin`, as the initramfs calls applets by name) and at a meminfo with 2.9 GiB available.
 */
async function serveRepo(work: string, repo: string) {
  mkdirSync(join(work, "bin"));
  symlinkSync(BUSYBOX, join(work, "bin/wget"));
  const meminfo = join(work, "meminfo");
  writeFileSync(meminfo, "MemTotal:  4000000 kB\nMemAvailable:  3000000 kB\n");
  const server = await startServer({ dir: repo, bind: "127.0.0.1", port: 0 });
  const env: Record<string, string> = {
    STRATA_WGET: join(work, "bin/wget"),
    STRATA_MEMINFO: meminfo,
  };
  return { server, env };
}

/** A release manifest of kiosk's `version` that stacks `layers`. */
function manifestOf(version: number, layers: { name: string; digest: string; bytes: number }[]) {
  return serializeManifest({
    format: "strata-release/1",
    recipe: "kiosk",
    arch: "amd64",
    version,
    root: "immutable",
    kernel: "6.12",
    cmdline: "boot=strata",
    vmlinuz: { digest: "a".repeat(64), bytes: 1 },
    initrd: { digest: "b".repeat(64), bytes: 1 },
    layers: layers.map((l) => ({ name: l.name, digest: l.digest, bytes: l.bytes })),
  });
}

describe("initramfs: fetching a version over HTTP", { skip }, () => {
  const work = tempDir("strata-fetch-");
  const repo = join(work, "repo");
  let server: RunningServer;
  let env: Record<string, string>;
  const layers = [
    { name: "base", ...randomFile(work, "base", 3 * 1024 * 1024 + 5) },
    { name: "app", ...randomFile(work, "app", 70_000) },
  ];

  const manifest = (version: number, ls: typeof layers) => manifestOf(version, ls);

  before(async () => {
    mkdirSync(join(repo, "layers"), { recursive: true });
    for (const l of layers) {
      writeFileSync(join(repo, "layers", `${l.digest}.sqfs`), readFileSync(l.file));
    }
    for (const [v, body] of [
      [1, manifest(1, layers)],
      // Version 2 names a layer the server holds with other bytes; version 3 one it lacks.
      [2, manifest(2, [layers[0], { ...layers[1], digest: "c".repeat(64) }] as typeof layers)],
      [3, manifest(3, [{ ...layers[1], digest: "d".repeat(64) }] as typeof layers)],
    ] as const) {
      mkdirSync(join(repo, "versions", String(v)), { recursive: true });
      writeFileSync(join(repo, "versions", String(v), "manifest.json"), body);
    }
    writeFileSync(join(repo, "layers", `${"c".repeat(64)}.sqfs`), "not the layer");
    ({ server, env } = await serveRepo(work, repo));
    env = {
      ...env,
      STRATA_FETCH_TRIES: "2",
      // No keyring: nothing is signed here (the block below signs).
      STRATA_KEYRING: join(work, "no-keyring"),
    };
  });

  after(() => server.close());

  it("fills a store as a disk's: the manifest, the layer list bottom first, every layer checked", async () => {
    const store = join(work, "store-ok");
    const r = await sh(`strata_fetch_version "${server.url}" 1 "${store}"`, env);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /fetching layer 1 \(base, 4 MiB\)[\s\S]*fetching layer 2 \(app, 1 MiB\)/);
    assert.equal(
      readFileSync(join(store, "versions/1/layers"), "utf8"),
      `${layers.map((l) => l.digest).join("\n")}\n`,
    );
    assert.equal(
      readFileSync(join(store, "versions/1/manifest.json"), "utf8"),
      manifest(1, layers),
    );
    for (const l of layers) {
      assert.deepEqual(
        readFileSync(join(store, "layers", `${l.digest}.sqfs`)),
        readFileSync(l.file),
      );
    }
  });

  it("refuses a layer whose sha256 is not the manifest's, keeping no file of it", async () => {
    const store = join(work, "store-bad");
    const r = await sh(`strata_fetch_version "${server.url}" 2 "${store}"`, env);
    assert.equal(r.code, 1, r.out);
    assert.match(
      r.out,
      /ERROR: HASH_MISMATCH: layer 2 \(app\) of version 2 from http:\S+ has sha256 [0-9a-f]{64}, not c{64}/,
    );
    assert.equal(existsSync(join(store, "layers", `${"c".repeat(64)}.sqfs`)), false);
    assert.equal(existsSync(join(store, "layers", `${"c".repeat(64)}.sqfs.part`)), false);
  });

  it("names the URL and the HTTP status of a missing file, after its retries", async () => {
    const r = await sh(`strata_fetch_version "${server.url}" 3 "${join(work, "store-404")}"`, env);
    assert.equal(r.code, 1, r.out);
    assert.match(
      r.out,
      /fetching http:\S+\/layers\/d{64}\.sqfs failed \(.*404.*\); trying again in 1 s/,
    );
    assert.match(
      r.out,
      /ERROR: cannot fetch http:\S+\/layers\/d{64}\.sqfs after 2 tries: .*404 Not Found/,
    );
    const missing = await sh(
      `strata_fetch_version "${server.url}" 9 "${join(work, "store-9")}"`,
      env,
    );
    assert.match(
      missing.out,
      /ERROR: cannot fetch http:\S+\/versions\/9\/manifest\.json after 2 tries: .*404/,
    );
  });

  it("says when no server answers", async () => {
    const down = await startServer({ dir: repo, bind: "127.0.0.1", port: 0 });
    await down.close();
    const r = await sh(`strata_fetch_version "${down.url}" 1 "${join(work, "store-down")}"`, env);
    assert.equal(r.code, 1, r.out);
    assert.match(
      r.out,
      /ERROR: cannot fetch http:\/\/127\.0\.0\.1:\d+\/versions\/1\/manifest\.json after 2 tries: .*(refused|connect)/i,
    );
  });

  it("stops at the first layer that does not fit in RAM, saying how much the image needs", async () => {
    const meminfo = join(work, "meminfo-small");
    // 99 MiB available, 96 kept for the system: the 4 MiB base layer does not fit.
    writeFileSync(meminfo, "MemTotal:  500000 kB\nMemAvailable:  101376 kB\n");
    const store = join(work, "store-ram");
    const r = await sh(`strata_fetch_version "${server.url}" 1 "${store}"`, {
      ...env,
      STRATA_MEMINFO: meminfo,
    });
    assert.equal(r.code, 1, r.out);
    assert.match(
      r.out,
      /ERROR: NO_RAM: layer 1 \(base\) of version 1 \(4 MiB\) does not fit in RAM: 99 MiB available, 96 MiB kept for the system; this image needs about 356 MiB of RAM/,
    );
    assert.deepEqual(existsSync(join(store, "layers", `${layers[0]?.digest}.sqfs`)), false);
  });
});

describe("initramfs: a manifest signed by the image's update keyring", { skip }, () => {
  const work = tempDir("strata-fetch-sig-");
  const repo = join(work, "repo");
  const layer = { name: "base", ...randomFile(work, "base", 50_000) };
  let server: RunningServer;
  let env: Record<string, string>;

  const manifest = (version: number) => manifestOf(version, [layer]);
  const versionFile = (v: number) => join(repo, "versions", String(v), "manifest.json");

  before(async () => {
    const good = await generateKey(join(work, "keys/good"), "good");
    const other = await generateKey(join(work, "keys/other"), "other");
    mkdirSync(join(repo, "layers"), { recursive: true });
    writeFileSync(join(repo, "layers", `${layer.digest}.sqfs`), readFileSync(layer.file));
    for (const v of [1, 2, 3, 4, 5]) {
      mkdirSync(join(repo, "versions", String(v)), { recursive: true });
      writeFileSync(versionFile(v), manifest(v));
    }
    // 1 is signed by the keyring's key; 2 by another key; 3 by the key, then changed; 4 not
    // at all; 5 holds version 1's manifest and signature.
    await withSigner(good.secret, async (sign) => {
      await sign(versionFile(1));
      await sign(versionFile(3));
    });
    await withSigner(other.secret, (sign) => sign(versionFile(2)));
    writeFileSync(versionFile(3), manifest(3).replace('"kernel": "6.12"', '"kernel": "6.13"'));
    writeFileSync(versionFile(5), readFileSync(versionFile(1)));
    writeFileSync(`${versionFile(5)}.sig`, readFileSync(`${versionFile(1)}.sig`));

    ({ server, env } = await serveRepo(work, repo));
    env = {
      ...env,
      STRATA_FETCH_TRIES: "1",
      STRATA_KEYRING: good.public,
      STRATA_GPGV: "/usr/bin/gpgv",
    };
  });

  after(() => server.close());

  const fetchVersion = (v: number) =>
    sh(`strata_fetch_version "${server.url}" ${v} "${join(work, `store-${v}`)}"`, env);

  it("boots a manifest with a good signature by the keyring, and keeps the signature beside it", async () => {
    const r = await fetchVersion(1);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /versions\/1\/manifest\.json has a good signature by the update keyring/);
    assert.ok(existsSync(join(work, "store-1/versions/1/manifest.json.sig")));
    assert.ok(existsSync(join(work, "store-1/layers", `${layer.digest}.sqfs`)));
  });

  it("refuses a manifest signed by another key, or changed after it was signed, before any layer", async () => {
    for (const v of [2, 3]) {
      const r = await fetchVersion(v);
      assert.equal(r.code, 1, r.out);
      assert.match(
        r.out,
        new RegExp(
          `ERROR: BAD_SIGNATURE: http://127\\.0\\.0\\.1:\\d+/versions/${v}/manifest\\.json is not signed by this image's update keyring \\(.+\\)`,
        ),
      );
      assert.doesNotMatch(r.out, /fetching layer/);
      assert.equal(existsSync(join(work, `store-${v}/layers/${layer.digest}.sqfs`)), false);
    }
  });

  it("refuses an unsigned manifest, naming the signature's URL and the HTTP status", async () => {
    const r = await fetchVersion(4);
    assert.equal(r.code, 1, r.out);
    assert.match(
      r.out,
      /ERROR: UNSIGNED: this image boots only what its update keyring signed, and cannot fetch http:\S+\/versions\/4\/manifest\.json\.sig after 1 tries: .*404/,
    );
  });

  it("refuses another version's manifest, though its signature is good", async () => {
    const r = await fetchVersion(5);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /has a good signature/);
    assert.match(
      r.out,
      /ERROR: BAD_MANIFEST: http:\S+\/versions\/5\/manifest\.json is not the manifest of version 5/,
    );
  });

  it("checks nothing without a keyring: the unsigned manifest boots", async () => {
    const r = await sh(`strata_fetch_version "${server.url}" 4 "${join(work, "store-4b")}"`, {
      ...env,
      STRATA_KEYRING: join(work, "no-keyring"),
    });
    assert.equal(r.code, 0, r.out);
    assert.doesNotMatch(r.out, /signature/);
  });
});
