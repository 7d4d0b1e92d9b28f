/**
 * The device agent (assets/update/strata-update) run on the host against a store and an ESP
 * that are plain directories, with a real repository (gpg signatures, `strata serve`) and apt's
 * own HTTP client: an app-only update's payload, a power cut after every durable step, the
 * named errors for tampering, switch, bless, mark-bad, health and gc.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startServer } from "../../src/serve/server.js";
import { checkDevice, type DeviceDirs, deviceFromRepo } from "../../src/update/device.js";
import { generateKey, withSigner } from "../../src/update/keys.js";
import { serializeManifest } from "../../src/update/manifest.js";
import { addRelease, type ReleaseInput, readRelease } from "../../src/update/repo.js";
import { needsRoot, randomFile, ROOT, tempDir } from "../helpers.js";

const AGENT = join(ROOT, "assets/update/strata-update");
const work = tempDir("strata-agent-");
const file = (name: string, bytes: number) => randomFile(work, name, bytes);
const base = { name: "base", ...file("base", 1 << 20) };
const vmlinuz = file("vmlinuz", 200_000);
const initrd = file("initrd", 300_000);
const release = (app: string, bytes = 256 * 1024): ReleaseInput => ({
  recipe: "kiosk",
  arch: "amd64",
  root: "immutable",
  kernel: "6.12",
  cmdline: "boot=strata strata.version=1 panic=10 console=ttyS0",
  vmlinuz,
  initrd,
  layers: [base, { name: "app", ...file(`app-${app}`, bytes) }],
});

/** A device that runs version 1 of `repo`: the store and ESP the disk build would write. */
function device(
  repo: string,
  boot: "uefi" | "bios" = "uefi",
): {
  store: string;
  /** UEFI: the ESP; BIOS: "" (GRUB's files are on the store) */
  esp: string;
  dirs: DeviceDirs;
  conf: string;
  env: NodeJS.ProcessEnv;
} {
  const dir = tempDir("strata-device-");
  const dirs = deviceFromRepo(repo, 1, dir, boot);
  const { store, esp } = dirs;
  mkdirSync(join(dir, "efivars"));
  const conf = join(dir, "update.conf");
  return {
    store,
    esp: esp ?? "",
    dirs,
    conf,
    env: {
      STRATA_UPDATE_CONF: conf,
      STRATA_STORE: store,
      ...(esp ? { STRATA_ESP: esp } : {}),
      STRATA_BOOT: boot,
      STRATA_RUNNING_VERSION: "1",
      STRATA_EFIVARS: join(dir, "efivars"),
      STRATA_HEALTH_DIR: join(dir, "health.d"),
      STRATA_REBOOT: "true",
    },
  };
}

/** Runs the agent; asynchronous, so the repository's server in this process goes on serving. */
function agent(env: NodeJS.ProcessEnv, ...args: string[]): Promise<AgentRun> {
  return new Promise((done, fail) => {
    const child = spawn("sh", [AGENT, ...args], {
      env: { ...process.env, ...env, LC_ALL: "C" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (err += b.toString()));
    child.on("error", fail);
    child.on("close", (code, signal) =>
      done({ code: code ?? (signal ? 128 + 9 : -1), signal, out, err }),
    );
  });
}

interface AgentRun {
  code: number;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

describe("strata-update, the device agent", () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  const repo = tempDir("strata-repo-");
  const log = join(work, "serve.jsonl");
  let keyring = "";
  let secret = "";
  const publish = async (r: ReleaseInput, o: { validSeconds?: number; key?: string } = {}) =>
    withSigner(o.key ?? secret, (sign) =>
      addRelease(repo, r, { channel: "stable", sign, validSeconds: o.validSeconds ?? 3600 }),
    );
  const configure = (d: ReturnType<typeof device>, url = server.url) =>
    writeFileSync(
      d.conf,
      `url=${url}\nchannel=stable\nrecipe=kiosk\narch=amd64\nboot=uefi\nkeyring=${keyring}\n`,
    );
  const served = () =>
    readFileSync(log, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { path: string; bytes: number; status: number });

  before(async () => {
    const k = await generateKey(join(work, "key"), "test");
    keyring = k.public;
    secret = k.secret;
    server = await startServer({ dir: repo, port: 0, log });
    await publish(release("1"));
    await publish(release("2"));
  });
  after(async () => {
    await server.close();
    rmSync(work, { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
  });

  it("apply v1 → v2 fetches only the new layer and metadata; the entry is on trial", async () => {
    const d = device(repo);
    configure(d);
    // check says what apply would fetch, and fetches no layer.
    const appBytes = (readRelease(repo, 2).layers[1] as { bytes: number }).bytes;
    const checked = served().length;
    const c = await agent(d.env, "check");
    assert.equal(c.code, 0, c.err);
    assert.equal(
      c.out.trim(),
      `channel stable: version 2 (serial 2); ${appBytes} layer bytes and 0 boot bytes to fetch`,
    );
    assert.ok(
      served()
        .slice(checked)
        .every((f) => !f.path.startsWith("/layers/")),
    );
    assert.deepEqual(readdirSync(join(d.store, "versions")), ["1"]);
    const before = served().length;
    const r = await agent(d.env, "apply");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /version 2 is applied; the next boot runs version 2 on trial/);
    // The shell found nothing to complain about (a number awk printed as 8e+10, a typo).
    assert.doesNotMatch(r.err, /Illegal number|syntax error|not found|unexpected/);
    assert.ok(existsSync(join(d.esp, "loader/entries/strata-2+3.conf")));
    assert.deepEqual(checkDevice(d.dirs), []);
    const fetched = served().slice(before);
    const app = readRelease(repo, 2).layers[1] as { digest: string; bytes: number };
    assert.deepEqual(
      fetched.filter((f) => f.path.startsWith("/layers/")).map((f) => f.path),
      [`/layers/${app.digest}.sqfs`],
    );
    assert.ok(
      fetched.every((f) => !f.path.startsWith("/boot/")),
      "the boot files are shared",
    );
    const bytes = fetched.reduce((n, f) => n + f.bytes, 0);
    assert.ok(bytes >= app.bytes && bytes < app.bytes + 16 * 1024, `${bytes} bytes`);
    const status = JSON.parse((await agent(d.env, "status", "--json")).out);
    assert.equal(status.running, 1);
    assert.equal(status.next, 2);
    assert.deepEqual(
      status.versions.map((v: { version: number; state: string; factory: boolean }) => [
        v.version,
        v.state,
        v.factory,
      ]),
      [
        [1, "good", true],
        [2, "trial", false],
      ],
    );
    // The same channel again: already applied, nothing fetched but the channel.
    const again = await agent(d.env, "apply");
    assert.equal(again.code, 3, again.err);
    assert.match(again.err, /error\[ALREADY_APPLIED\]/);
  });

  it("a power cut after any durable step leaves every entry whole, and apply then completes", async () => {
    let completed = false;
    for (let i = 1; i < 20 && !completed; i++) {
      const d = device(repo);
      configure(d);
      const r = await agent({ ...d.env, STRATA_UPDATE_FAULT: String(i) }, "apply");
      if (r.code === 0) {
        completed = true;
        assert.ok(i > 4, `a run completed at fault ${i}: there are ${i - 1} durable steps`);
        break;
      }
      assert.equal(r.signal, "SIGKILL", `cut ${i}: ${r.err}`);
      assert.deepEqual(checkDevice(d.dirs), [], `after cut ${i}`);
      const rerun = await agent(d.env, "apply");
      // A cut after the last step (the serial) leaves nothing to do, and the rerun says so.
      const done = rerun.code === 3 && /error\[ALREADY_APPLIED\]/.test(rerun.err);
      assert.ok(rerun.code === 0 || done, `rerun after cut ${i}: ${rerun.err}`);
      assert.ok(existsSync(join(d.esp, "loader/entries/strata-2+3.conf")), `after cut ${i}`);
      assert.deepEqual(checkDevice(d.dirs), [], `after the rerun of cut ${i}`);
    }
    assert.ok(completed);
  });

  it("a device running the channel's content is up to date and fetches no layer", async () => {
    const d = device(repo);
    configure(d);
    // Version 1's files, published again as the channel's version (a rollback publish).
    const r0 = await agent(d.env, "apply");
    assert.equal(r0.code, 0, r0.err);
    const d1 = device(repo);
    writeFileSync(
      join(d1.store, "versions/1/manifest.json"),
      serializeManifest(readRelease(repo, 2)),
    );
    configure(d1);
    const before = served().length;
    const r = await agent(d1.env, "apply");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /up to date/);
    assert.deepEqual(
      served()
        .slice(before)
        .filter((f) => f.path.startsWith("/layers/")),
      [],
    );
  });

  it("rejects tampering with named errors, writing no entry", async () => {
    const tamper = async (
      name: string,
      code: string,
      change: (r: string) => void | Promise<void>,
      undo: (r: string) => void,
    ) => {
      const d = device(repo);
      configure(d);
      await change(repo);
      try {
        const r = await agent(d.env, "apply");
        assert.equal(r.code, 1, `${name}: ${r.err}`);
        assert.match(r.err, new RegExp(`error\\[${code}\\]`), name);
        assert.deepEqual(readdirSync(join(d.esp, "loader/entries")), ["strata-1.conf"], name);
        assert.deepEqual(readdirSync(join(d.store, "versions")), ["1"], name);
      } finally {
        undo(repo);
      }
    };
    const app = readRelease(repo, 2).layers[1] as { digest: string };
    const layer = join(repo, "layers", `${app.digest}.sqfs`);
    const saved = readFileSync(layer);
    await tamper(
      "a changed layer byte",
      "HASH_MISMATCH",
      () => {
        const b = Buffer.from(saved);
        b[100] = (b[100] as number) ^ 1;
        rmSync(layer);
        writeFileSync(layer, b);
      },
      () => {
        rmSync(layer);
        writeFileSync(layer, saved);
      },
    );
    const manifest = join(repo, "versions/2/manifest.json");
    const m = readFileSync(manifest);
    await tamper(
      "a changed manifest byte",
      "BAD_SIGNATURE",
      () => writeFileSync(manifest, m.toString().replace('"kernel": "6.12"', '"kernel": "6.13"')),
      () => writeFileSync(manifest, m),
    );
    const chSig = join(repo, "channels/stable.json.sig");
    const sig = readFileSync(chSig);
    await tamper(
      "a signature of another file",
      "BAD_SIGNATURE",
      () => cpSync(join(repo, "versions/1/manifest.json.sig"), chSig),
      () => writeFileSync(chSig, sig),
    );
    const other = await generateKey(join(work, "other"), "other");
    await tamper(
      "a key not in the keyring",
      "UNKNOWN_KEY",
      () =>
        withSigner(other.secret, async (sign) => {
          await sign(join(repo, "channels/stable.json"));
        }),
      () => writeFileSync(chSig, sig),
    );
  });

  it("refuses an expired channel and a replayed one", async () => {
    const d = device(repo);
    configure(d);
    assert.equal((await agent(d.env, "apply")).code, 0);
    const ch = join(repo, "channels/stable.json");
    const old = { json: readFileSync(ch), sig: readFileSync(`${ch}.sig`) };
    await publish(release("3"));
    assert.equal((await agent(d.env, "apply")).code, 0);
    writeFileSync(ch, old.json);
    writeFileSync(`${ch}.sig`, old.sig);
    const replay = await agent(d.env, "apply");
    assert.equal(replay.code, 1);
    assert.match(replay.err, /error\[REPLAYED\]/);
    await publish(release("4"), { validSeconds: -10 });
    const expired = await agent(d.env, "apply");
    assert.equal(expired.code, 1);
    assert.match(expired.err, /error\[EXPIRED\]/);
    assert.ok(!existsSync(join(d.store, "versions/5")) && !existsSync(join(d.store, "versions/4")));
  });

  it("switch sets the one-shot entry; bless, mark-bad and health rename the entry", async () => {
    await publish(release("switch")); // the channel the test before left has expired
    const d = device(repo);
    configure(d);
    assert.equal((await agent(d.env, "apply")).code, 0);
    const sw = await agent(d.env, "switch", "1");
    assert.equal(sw.code, 0, sw.err);
    const efivars = d.env.STRATA_EFIVARS as string;
    const value = readFileSync(join(efivars, readdirSync(efivars)[0] as string));
    assert.deepEqual(
      value,
      Buffer.concat([Buffer.from([7, 0, 0, 0]), Buffer.from("strata-1.conf\0", "utf16le")]),
    );
    assert.equal((await agent(d.env, "switch", "9")).code, 1);

    const entries = () => readdirSync(join(d.esp, "loader/entries")).sort();
    const v = (n: string) => ({ ...d.env, STRATA_RUNNING_VERSION: n });
    // The factory version is never marked bad.
    assert.match((await agent(v("1"), "mark-bad")).err, /NOT_TRIAL/);
    const latest = entries().find((e) => e.includes("+")) as string;
    const n = /^strata-(\d+)/.exec(latest)?.[1] as string;
    // A failing health check marks the trial bad (and reboots: here `true`).
    const health = d.env.STRATA_HEALTH_DIR as string;
    mkdirSync(join(health, "01"), { recursive: true });
    writeFileSync(join(health, "01/name"), "app answers\n");
    writeFileSync(join(health, "01/run"), "echo broken\n");
    writeFileSync(join(health, "01/output"), "^ok$\n");
    const bad = await agent(v(n), "health");
    assert.equal(bad.code, 1);
    assert.match(bad.err, /health check 'app answers' failed: output does not match \^ok\$/);
    assert.ok(entries().includes(`strata-${n}+0-0.conf`), entries().join(" "));
    // A passing one blesses a trial.
    rmSync(join(d.esp, "loader/entries", `strata-${n}+0-0.conf`));
    writeFileSync(
      join(d.esp, "loader/entries", `strata-${n}+2-1.conf`),
      readFileSync(join(d.esp, "loader/entries/strata-1.conf")),
    );
    writeFileSync(join(health, "01/run"), "echo ok\n");
    const good = await agent(v(n), "health");
    assert.equal(good.code, 0, good.err);
    assert.ok(entries().includes(`strata-${n}.conf`));
    assert.equal(readFileSync(join(d.store, "update/blessed"), "utf8").trim(), n);
  });

  it("gc removes unpinned versions and their files, surviving a cut after each step", async () => {
    await publish(release("5"));
    for (let i = 1; i < 12; i++) {
      const d = device(repo);
      configure(d);
      // Two updates: the first is then neither factory, blessed, running nor a newer trial.
      assert.equal((await agent(d.env, "apply")).code, 0);
      await publish(release(`6-${i}`));
      assert.equal((await agent(d.env, "apply")).code, 0);
      const kept = readdirSync(join(d.store, "versions")).sort();
      assert.equal(kept.length, 3, kept.join(" "));
      // Mark the middle one bad: it is then collected.
      const middle = kept[1] as string;
      const entry = readdirSync(join(d.esp, "loader/entries")).find((e) =>
        e.startsWith(`strata-${middle}+`),
      );
      assert.ok(entry);
      assert.equal((await agent({ ...d.env, STRATA_RUNNING_VERSION: middle }, "mark-bad")).code, 0);
      const r = await agent({ ...d.env, STRATA_UPDATE_FAULT: String(i) }, "gc");
      assert.deepEqual(checkDevice(d.dirs), [], `after gc cut ${i}`);
      const rerun = await agent(d.env, "gc");
      assert.equal(rerun.code, 0, rerun.err);
      assert.deepEqual(checkDevice(d.dirs), []);
      assert.ok(!existsSync(join(d.store, "versions", middle)));
      const used = new Set(
        readdirSync(join(d.store, "versions")).flatMap((v) =>
          readFileSync(join(d.store, "versions", v, "layers"), "utf8")
            .split("\n")
            .filter(Boolean),
        ),
      );
      assert.deepEqual(
        readdirSync(join(d.store, "layers"))
          .map((f) => f.replace(/\.sqfs$/, ""))
          .sort(),
        [...used].sort(),
      );
      if (r.code === 0) break;
      assert.equal(r.signal, "SIGKILL");
    }
  });

  it("BIOS: apply makes grub.cfg boot the new version once; a cut after every step leaves it whole", async () => {
    await publish(release("bios")); // a channel the tests before may have left expired
    const cfg = (d: ReturnType<typeof device>) =>
      readFileSync(join(d.store, "boot/grub/grub.cfg"), "utf8");
    let completed = false;
    for (let i = 1; i < 20 && !completed; i++) {
      const d = device(repo, "bios");
      configure(d);
      const r = await agent({ ...d.env, STRATA_UPDATE_FAULT: String(i) }, "apply");
      completed = r.code === 0;
      if (!completed) {
        assert.equal(r.signal, "SIGKILL", `cut ${i}: ${r.err}`);
        assert.deepEqual(checkDevice(d.dirs), [], `after cut ${i}`);
        const rerun = await agent(d.env, "apply");
        const done = rerun.code === 3 && /error\[ALREADY_APPLIED\]/.test(rerun.err);
        assert.ok(rerun.code === 0 || done, `rerun after cut ${i}: ${rerun.err}`);
      }
      assert.deepEqual(checkDevice(d.dirs), [], `after cut ${i} and its rerun`);
      const text = cfg(d);
      const v = /--id strata-(\d+) /.exec(text)?.[1] as string;
      assert.notEqual(v, "1", "the newest version comes first in the menu");
      assert.match(text, /^set default=strata-1$/m, "the good version stays the default");
      assert.match(
        text,
        new RegExp(
          `set strata_once="trial-${v}"\\n {2}save_env strata_once\\n {2}set default=strata-${v}\\n`,
        ),
      );
      assert.ok(existsSync(join(d.store, `update/entries/strata-${v}+1.conf`)));
      assert.ok(!existsSync(join(d.store, "boot/grub/grub.cfg.tmp")));
    }
    assert.ok(completed);
  });

  it("BIOS: a spent trial that does not run is marked bad; a healthy one becomes the default; switch boots once", async () => {
    await publish(release("bios-2"));
    const grubenv = (d: ReturnType<typeof device>, value: string) => {
      const head = `# GRUB Environment Block\nstrata_once=${value}\n`;
      writeFileSync(join(d.store, "boot/grub/grubenv"), head + "#".repeat(1024 - head.length));
    };
    const cfg = (d: ReturnType<typeof device>) =>
      readFileSync(join(d.store, "boot/grub/grub.cfg"), "utf8");
    const failed = device(repo, "bios");
    configure(failed);
    assert.equal((await agent(failed.env, "apply")).code, 0);
    const v = /--id strata-(\d+) /.exec(cfg(failed))?.[1] as string;
    // GRUB booted the trial once (it spent the token), and the good version 1 runs again.
    grubenv(failed, `trial-${v}`);
    const reaped = await agent(failed.env, "health");
    assert.equal(reaped.code, 0, reaped.err);
    assert.match(reaped.err, new RegExp(`version ${v} did not come up at its trial boot`));
    assert.ok(existsSync(join(failed.store, `update/entries/strata-${v}+0-1.conf`)));
    assert.doesNotMatch(cfg(failed), /strata_once|--id strata-[2-9]/, "no trial, no bad entry");
    assert.deepEqual(checkDevice(failed.dirs), []);

    const good = device(repo, "bios");
    configure(good);
    assert.equal((await agent(good.env, "apply")).code, 0);
    const blessed = await agent({ ...good.env, STRATA_RUNNING_VERSION: v }, "health");
    assert.equal(blessed.code, 0, blessed.err);
    assert.ok(existsSync(join(good.store, `update/entries/strata-${v}.conf`)));
    assert.match(cfg(good), new RegExp(`^set default=strata-${v}$`, "m"));
    assert.doesNotMatch(cfg(good), /strata_once/);
    const sw = await agent({ ...good.env, STRATA_RUNNING_VERSION: v }, "switch", "1");
    assert.equal(sw.code, 0, sw.err);
    assert.match(
      cfg(good),
      /set strata_once="switch-1-\d+"\n {2}save_env strata_once\n {2}set default=strata-1\n/,
    );
    assert.match(cfg(good), new RegExp(`^set default=strata-${v}$`, "m"));
    assert.deepEqual(checkDevice(good.dirs), []);
  });

  it(
    "stops before writing anything when the store has no room, even after collecting",
    {
      skip: needsRoot,
    },
    async () => {
      await publish(release("roomy", 2 << 20)); // a 2 MiB app layer
      const d = device(repo);
      configure(d);
      // The store on a 1.5 MiB tmpfs holding version 1 (a 1 MiB base, a 256 KiB app layer), in a
      // private mount namespace that goes with the process.
      const script = [
        "set -e",
        'cp -a "$STRATA_STORE" "$STRATA_STORE.copy"',
        'mount -t tmpfs -o size=1536k strata-test "$STRATA_STORE"',
        'cp -a "$STRATA_STORE.copy/." "$STRATA_STORE/"',
        `sh ${AGENT} apply || status=$?`,
        'find "$STRATA_STORE" | sort > "$STRATA_STORE.after"',
        "exit ${status:-0}",
      ].join("\n");
      const r = await new Promise<{ code: number | null; err: string }>((done) => {
        const child = spawn(
          "unshare",
          ["--mount", "--propagation", "private", "sh", "-c", script],
          {
            env: { ...process.env, ...d.env, LC_ALL: "C" },
            stdio: ["ignore", "ignore", "pipe"],
          },
        );
        let err = "";
        child.stderr.on("data", (b: Buffer) => (err += b.toString()));
        child.on("close", (code) => done({ code, err }));
      });
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /error\[NO_SPACE\]: version \d+ needs \d+ bytes of layers/);
      assert.deepEqual(readdirSync(join(d.esp, "loader/entries")), ["strata-1.conf"]);
      const after = readFileSync(`${d.store}.after`, "utf8");
      assert.doesNotMatch(after, /versions\/[02-9]|\.tmp-/, "no version was written");
      assert.equal(after.match(/\.sqfs$/gm)?.length, 2, "only version 1's layers");
    },
  );

  it("resumes a layer after the server went away halfway", async () => {
    await publish(release("big", 4 << 20));
    const d = device(repo);
    configure(d);
    const big = readRelease(
      repo,
      Number(
        readFileSync(join(repo, "channels/stable.json"), "utf8").match(/"version": (\d+)/)?.[1],
      ),
    ).layers[1] as { digest: string; bytes: number };
    // A server that sends half of the layer and then drops the connection, once.
    const { createServer } = await import("node:http");
    let cut = true;
    let sentBytes = 0;
    const flaky = createServer((req, res) => {
      const path = join(repo, decodeURIComponent(req.url ?? "/"));
      if (!existsSync(path)) return res.writeHead(404).end();
      const data = readFileSync(path);
      const m = /bytes=(\d+)-/.exec(req.headers.range ?? "");
      const start = m ? Number(m[1]) : 0;
      if (req.url?.startsWith("/layers/") && cut) {
        cut = false;
        res.writeHead(200, { "Content-Length": data.length });
        res.write(data.subarray(0, data.length / 2));
        sentBytes += data.length / 2;
        setTimeout(() => res.socket?.destroy(), 200);
        return;
      }
      if (req.url?.startsWith("/layers/")) sentBytes += data.length - start;
      if (m) {
        res.writeHead(206, {
          "Content-Range": `bytes ${start}-${data.length - 1}/${data.length}`,
          "Content-Length": data.length - start,
        });
        return res.end(data.subarray(start));
      }
      res.writeHead(200, { "Content-Length": data.length }).end(data);
    });
    await new Promise<void>((r) => flaky.listen(0, "127.0.0.1", r));
    const port = (flaky.address() as { port: number }).port;
    try {
      configure(d, `http://127.0.0.1:${port}`);
      const r = await agent(d.env, "apply");
      // apt-helper may finish the download on its own retry; either way it resumes.
      if (r.code !== 0) {
        assert.match(r.err, /error\[UNREACHABLE\]/);
        const again = await agent(d.env, "apply");
        assert.equal(again.code, 0, again.err);
      }
      assert.ok(existsSync(join(d.store, "layers", `${big.digest}.sqfs`)));
      assert.ok(sentBytes <= big.bytes * 1.1, `${sentBytes} bytes sent for ${big.bytes}`);
    } finally {
      await new Promise<void>((r) => flaky.close(() => r()));
    }
  });
});
