/**
 * Over-the-air updates end to end, under TCG: examples/disk's cached layers plus an app layer
 * and `update:`, published three times to a repository served on 127.0.0.1 (the guest reaches
 * it as 10.0.2.2 through QEMU's user network).
 *
 *   v1 → v2 (the app layer changes): only that layer and a few KiB of metadata cross the
 *   network; v2 boots on trial and is blessed by its health check; `switch 1` boots v1 once;
 *   v3 fails its health check, is marked bad at its first boot and the device is back on v2.
 */
import assert from "node:assert/strict";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { PublishCommandResult } from "../../src/commands/publish.js";
import { startServer } from "../../src/serve/server.js";
import { bootMachine, type Machine } from "../../src/vm/machine.js";
import { cli, needsRoot, ROOT, TEST_CACHE, tempDir } from "../helpers.js";

process.env.STRATA_ACCEL ??= "tcg";
const PASSWORD = "strata";
const BOOT_MS = 10 * 60 * 1000;

interface LogLine {
  path: string;
  status: number;
  bytes: number;
}

async function ok(m: Machine, command: string, timeoutMs?: number): Promise<string> {
  const r = await m.exec(command, { timeoutMs });
  assert.equal(r.status, 0, `${command} exited ${r.status}:\n${r.output}`);
  return r.output;
}

/** The guest's first network link, addressed statically on QEMU's user network. */
const NETWORK =
  "dev=$(ls /sys/class/net | grep -v '^lo$' | head -n 1) && ip link set \"$dev\" up && " +
  'ip addr add 10.0.2.15/24 dev "$dev" && ip route add default via 10.0.2.2';

describe("over-the-air updates", { skip: needsRoot }, () => {
  const dir = tempDir("strata-recipe-");
  const repo = tempDir("strata-repo-");
  const outs: string[] = [];
  const logFile = join(tempDir("strata-serve-"), "log.jsonl");
  let server: Awaited<ReturnType<typeof startServer>>;
  const published: PublishCommandResult[] = [];

  const publish = (app: string, fail = "no"): PublishCommandResult => {
    const out = tempDir("strata-out-");
    outs.push(out);
    const r = cli([
      "publish",
      dir,
      "--repo",
      repo,
      "--key",
      join(dir, "keys/update.key"),
      "--set",
      `port=${server.port}`,
      "--set",
      `app=${app}`,
      "--set",
      `fail=${fail}`,
      "--cache-dir",
      TEST_CACHE,
      "--out",
      out,
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as PublishCommandResult;
    published.push(result);
    return result;
  };
  const log = (): LogLine[] =>
    readFileSync(logFile, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LogLine);

  before(async () => {
    server = await startServer({ dir: repo, port: 0, log: logFile });
    cpSync(join(ROOT, "examples/disk"), dir, { recursive: true });
    const yaml = readFileSync(join(dir, "strata.yaml"), "utf8")
      .replace(/^tests:[\s\S]*$/m, "")
      .replace(
        "  hostname: strata-vm",
        '  hostname: strata-vm\n  port: "0"\n  app: "1"\n  fail: "no"',
      )
      .replace(
        /^outputs:/m,
        [
          "  - name: app",
          "    steps:",
          '      - write: { path: /etc/app-version, content: "${app}\\n" }',
          "update:",
          '  url: "http://10.0.2.2:${port}"',
          "  keyring: keys/update.pub",
          "health:",
          "  - name: the app's version is readable",
          "    run: cat /etc/app-version",
          '    output: "^[0-9]+$"',
          "  - name: this version is not the broken one",
          '    run: test "${fail}" != yes',
          "outputs:",
        ].join("\n"),
      );
    assert.match(yaml, /keyring: keys\/update\.pub/);
    writeFileSync(join(dir, "strata.yaml"), yaml);
    const k = cli(["key", "generate", "--out", join(dir, "keys/update"), "--json"]);
    assert.equal(k.code, 0, k.stderr);
  });
  after(async () => {
    await server?.close();
    for (const d of [dir, repo, ...outs]) rmSync(d, { recursive: true, force: true });
  });

  it("publishes v1 and v2; v2 adds only the app layer, and the same build twice adds nothing", () => {
    const v1 = publish("1");
    assert.equal(v1.version, 1);
    assert.ok(v1.added.some((f) => f.path.startsWith("boot/")));
    const v2 = publish("2");
    assert.equal(v2.version, 2);
    const layers = v2.added.filter((f) => f.path.startsWith("layers/"));
    assert.equal(layers.length, 1, `one new layer: ${JSON.stringify(v2.added)}`);
    assert.deepEqual(
      v2.added.filter((f) => f.path.startsWith("boot/")),
      [],
      "the kernel and initramfs are shared with v1",
    );
    const again = publish("2");
    assert.equal(again.changed, false);
    assert.equal(again.version, 2);
    assert.deepEqual(again.added, []);
  });

  it("v1 → v2 fetches the app layer and metadata; v2 is blessed; switch 1 boots v1 once; a v3 that fails its health check falls back to v2", async () => {
    const image = join(outs[0] as string, "app.img");
    const m = await bootMachine({ image, arch: "amd64", boot: "uefi" });
    try {
      await m.login("root", PASSWORD);
      await ok(m, NETWORK);
      const status = JSON.parse(await ok(m, "strata-update status --json"));
      assert.equal(status.running, 1);

      const before = log().length;
      const applied = await ok(m, "strata-update apply", 5 * 60 * 1000);
      assert.match(applied, /version 2/);
      const fetched = log().slice(before);
      const appLayer = published[1]?.added.find((f) => f.path.startsWith("layers/"));
      assert.ok(appLayer);
      const layerFetches = fetched.filter((l) => l.path.startsWith("/layers/"));
      assert.deepEqual(
        layerFetches.map((l) => l.path),
        [`/${appLayer.path}`],
        "only the app layer is fetched",
      );
      const total = fetched.reduce((n, l) => n + l.bytes, 0);
      assert.ok(
        total <= appLayer.bytes + 64 * 1024,
        `${total} bytes served for a ${appLayer.bytes}-byte layer`,
      );
      assert.match(await ok(m, "ls /efi/loader/entries"), /strata-2\+3\.conf/);

      await m.reboot({ timeoutMs: BOOT_MS });
      await m.login("root", PASSWORD);
      assert.equal((await ok(m, "cat /run/strata/version")).trim(), "2");
      assert.equal((await ok(m, "cat /etc/app-version")).trim(), "2");
      // The health service blesses the trial entry: it loses its counter.
      await ok(
        m,
        "for i in $(seq 120); do test -e /efi/loader/entries/strata-2.conf && exit 0; sleep 1; done; ls /efi/loader/entries; exit 1",
        180_000,
      );

      await ok(m, "strata-update switch 1");
      await m.reboot({ timeoutMs: BOOT_MS });
      await m.login("root", PASSWORD);
      assert.equal((await ok(m, "cat /run/strata/version")).trim(), "1");
      await m.reboot({ timeoutMs: BOOT_MS });
      await m.login("root", PASSWORD);
      assert.equal((await ok(m, "cat /run/strata/version")).trim(), "2", "the default again");

      const v3 = publish("3", "yes");
      assert.equal(v3.version, 3);
      await ok(m, NETWORK);
      assert.match(await ok(m, "strata-update apply", 5 * 60 * 1000), /version 3/);
      m.send("reboot\n");
      // v3 boots, fails its health check, is marked bad and reboots by itself into v2.
      await m.waitFor(/strata: version 3, /, BOOT_MS);
      await m.waitFor(/strata: version 2, /, BOOT_MS);
      await m.login("root", PASSWORD);
      assert.equal((await ok(m, "cat /run/strata/version")).trim(), "2");
      assert.match(await ok(m, "ls /efi/loader/entries"), /strata-3\+0-\d+\.conf/);
      const after = JSON.parse(await ok(m, "strata-update status --json"));
      assert.equal(after.running, 2);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- console ---\n${m.tail(60)}`, { cause: e });
    } finally {
      await m.close();
    }
  });
});
