/**
 * The initramfs's HTTP functions (assets/initramfs-tools/scripts/strata-functions) run on the
 * host with busybox's sh and wget, as the initramfs runs them, against strata's own server: a
 * version's manifest and layers fetched and checked, and the named errors a netboot panics
 * with: a missing file (URL and HTTP status, after the retries), a server that does not
 * answer, a layer whose sha256 is wrong, a layer that does not fit in RAM.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type RunningServer, startServer } from "../../src/serve/server.js";
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

describe("initramfs: fetching a version over HTTP", { skip }, () => {
  const work = tempDir("strata-fetch-");
  const repo = join(work, "repo");
  const bin = join(work, "bin");
  let server: RunningServer;
  let env: Record<string, string>;
  const layers = [
    { name: "base", ...randomFile(work, "base", 3 * 1024 * 1024 + 5) },
    { name: "app", ...randomFile(work, "app", 70_000) },
  ];

  const manifest = (version: number, ls: typeof layers) =>
    serializeManifest({
      format: "strata-release/1",
      recipe: "kiosk",
      arch: "amd64",
      version,
      root: "immutable",
      kernel: "6.12",
      cmdline: "boot=strata",
      vmlinuz: { digest: "a".repeat(64), bytes: 1 },
      initrd: { digest: "b".repeat(64), bytes: 1 },
      layers: ls.map((l) => ({ name: l.name, digest: l.digest, bytes: l.bytes })),
    });

  before(async () => {
    mkdirSync(join(repo, "layers"), { recursive: true });
    mkdirSync(bin);
    // The initramfs calls busybox's applets by name.
    symlinkSync(BUSYBOX, join(bin, "wget"));
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
    server = await startServer({ dir: repo, bind: "127.0.0.1", port: 0 });
    const meminfo = join(work, "meminfo");
    writeFileSync(meminfo, "MemTotal:  4000000 kB\nMemAvailable:  3000000 kB\n");
    env = { STRATA_WGET: join(bin, "wget"), STRATA_MEMINFO: meminfo, STRATA_FETCH_TRIES: "2" };
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
