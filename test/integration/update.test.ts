/**
 * Over-the-air updates end to end, under TCG: examples/disk's cached layers plus an app layer
 * and `update:`, published to a repository served on 127.0.0.1 (the guest reaches it as
 * 10.0.2.2 through QEMU's user network).
 *
 *   immutable root: v1 → v2 (the app layer changes): only that layer and a few KiB of metadata
 *   cross the network; v2 boots on trial and is blessed by its health check; `switch 1` boots
 *   v1 once, then the default boots again: v3, which fails its health check, is marked bad at
 *   its first boot and the device is back on v2; v4's initramfs panics at every boot, its entry
 *   counts down to bad and v2 boots again.
 *
 *   BIOS (MBR, GRUB) with a persistent root: a trial boots once (GRUB's environment block); one
 *   that changes /etc and fails its health check falls back to a version whose /etc is exactly
 *   as it was, while the shared data directory keeps what the failed version wrote; a healthy
 *   one starts from the old version's changes, is blessed and becomes grub.cfg's default.
 */
import assert from "node:assert/strict";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { PublishCommandResult } from "../../src/commands/publish.js";
import { startServer } from "../../src/serve/server.js";
import { bootMachine, type Machine } from "../../src/vm/machine.js";
import { cli, cliAsync, needsRoot, ROOT, TEST_CACHE, tempDir } from "../helpers.js";
import { ok, PASSWORD } from "./machine-helpers.js";

process.env.STRATA_ACCEL ??= "tcg";
const BOOT_MS = 10 * 60 * 1000;

interface LogLine {
  path: string;
  status: number;
  bytes: number;
}

const version = async (m: Machine) => (await ok(m, "cat /run/strata/version")).trim();

/** The guest's first network link, addressed statically on QEMU's user network. */
const NETWORK =
  "dev=$(ls /sys/class/net | grep -v '^lo$' | head -n 1) && ip link set \"$dev\" up && " +
  'ip addr add 10.0.2.15/24 dev "$dev" && ip route add default via 10.0.2.2';

/** Every file under /etc with its sha256, and every other entry with its type and target. */
const ETC_SNAPSHOT =
  "cd /etc && find . -xdev -printf '%y %p %l\\n' | sort && " +
  "find . -xdev -type f -print0 | sort -z | xargs -0 sha256sum";

/** examples/disk with an app layer, `update:` and health checks; `extra` lines for the recipe. */
function recipe(dir: string, o: { channel: string; health: string[]; outputs: string[] }) {
  cpSync(join(ROOT, "examples/disk"), dir, { recursive: true });
  const yaml = readFileSync(join(dir, "strata.yaml"), "utf8")
    .replace(/^tests:[\s\S]*$/m, "")
    .replace(
      "  hostname: strata-vm",
      '  hostname: strata-vm\n  port: "0"\n  app: "1"\n  fail: "no"\n  extra: ""',
    )
    .replace(
      /^outputs:\n(\s+- .*\n)+/m,
      [
        "  - name: app",
        "    steps:",
        '      - write: { path: /etc/app-version, content: "${app}\\n" }',
        "update:",
        '  url: "http://10.0.2.2:${port}"',
        "  keyring: keys/update.pub",
        `  channel: ${o.channel}`,
        "  data: [/var/lib/app]",
        "health:",
        ...o.health,
        "outputs:",
        ...o.outputs,
        "",
      ].join("\n"),
    );
  assert.match(yaml, /keyring: keys\/update\.pub/);
  assert.match(yaml, /^outputs:\n {2}- /m);
  writeFileSync(join(dir, "strata.yaml"), yaml);
}

describe("over-the-air updates", { skip: needsRoot }, () => {
  const dir = tempDir("strata-recipe-");
  const persistentDir = tempDir("strata-recipe-persistent-");
  const outs: string[] = [];
  const published: PublishCommandResult[] = [];
  /**
   * One repository and server per device: the two device tests run at once (each VM has one
   * vCPU of the host's two), and each numbers its versions from 1.
   */
  const repos = {
    stable: { dir: tempDir("strata-repo-"), log: join(tempDir("strata-serve-"), "log.jsonl") },
    persistent: { dir: tempDir("strata-repo-"), log: join(tempDir("strata-serve-"), "log.jsonl") },
  };
  const servers: Partial<Record<keyof typeof repos, Awaited<ReturnType<typeof startServer>>>> = {};

  // Async: the other device's test and the servers in this process go on meanwhile.
  const publish = async (
    recipeDir: string,
    vars: { app: string; fail?: string; extra?: string },
  ): Promise<PublishCommandResult & { out: string }> => {
    const which = recipeDir === persistentDir ? "persistent" : "stable";
    const out = tempDir("strata-out-");
    outs.push(out);
    const port = String(servers[which]?.port);
    const set = Object.entries({ port, fail: "no", extra: "", ...vars });
    const r = await cliAsync([
      "publish",
      recipeDir,
      "--repo",
      repos[which].dir,
      "--key",
      join(dir, "keys/update.key"),
      ...set.flatMap(([k, v]) => ["--set", `${k}=${v}`]),
      "--cache-dir",
      TEST_CACHE,
      "--out",
      out,
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as PublishCommandResult;
    published.push(result);
    return { ...result, out };
  };
  const log = (): LogLine[] =>
    readFileSync(repos.stable.log, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LogLine);

  before(async () => {
    for (const [name, r] of Object.entries(repos)) {
      servers[name as keyof typeof repos] = await startServer({ dir: r.dir, port: 0, log: r.log });
    }
    recipe(dir, {
      channel: "stable",
      health: [
        "  - name: the app's version is readable",
        "    run: cat /etc/app-version",
        '    output: "^[0-9]+$"',
        "  - name: this version is not the broken one",
        '    run: test "${fail}" != yes',
      ],
      // `extra` reaches the kernel command line: strata.root=broken makes the initramfs panic.
      outputs: ['  - { type: disk, cmdline: "${extra}" }'],
    });
    recipe(persistentDir, {
      channel: "persistent",
      health: [
        "  - name: the trial changes /etc and the shared data, and fails when told to",
        '    run: touch /etc/changed-by-${app} && echo ${app} > /var/lib/app/last && test "${fail}" != yes',
      ],
      outputs: ["  - { type: disk, name: persist, root: persistent, boot: bios, table: mbr }"],
    });
    const k = cli(["key", "generate", "--out", join(dir, "keys/update"), "--json"]);
    assert.equal(k.code, 0, k.stderr);
    cpSync(join(dir, "keys"), join(persistentDir, "keys"), { recursive: true });
  });
  after(async () => {
    for (const server of Object.values(servers)) await server?.close();
    const repoDirs = Object.values(repos).flatMap((r) => [r.dir, join(r.log, "..")]);
    for (const d of [dir, persistentDir, ...repoDirs, ...outs])
      rmSync(d, { recursive: true, force: true });
  });

  it("publishes v1 and v2; v2 adds only the app layer, and the same build twice adds nothing", async () => {
    const v1 = await publish(dir, { app: "1" });
    assert.equal(v1.version, 1);
    assert.ok(v1.added.some((f) => f.path.startsWith("boot/")));
    const v2 = await publish(dir, { app: "2" });
    assert.equal(v2.version, 2);
    const layers = v2.added.filter((f) => f.path.startsWith("layers/"));
    assert.equal(layers.length, 1, `one new layer: ${JSON.stringify(v2.added)}`);
    assert.deepEqual(
      v2.added.filter((f) => f.path.startsWith("boot/")),
      [],
      "the kernel and initramfs are shared with v1",
    );
    const again = await publish(dir, { app: "2" });
    assert.equal(again.changed, false);
    assert.equal(again.version, 2);
    assert.deepEqual(again.added, []);
  });

  describe("devices", { concurrency: true }, () => {
    it("v1 → v2 fetches the app layer and metadata; v2 is blessed; switch 1 boots v1 once; v3 failing its health check and v4 panicking both fall back to v2", async () => {
      const image = join(outs[0] as string, "app.img");
      const m = await bootMachine({ image, arch: "amd64", boot: "uefi" });
      try {
        await m.login("root", PASSWORD);
        await ok(m, NETWORK);
        const status = JSON.parse(await ok(m, "strata-update status --json"));
        assert.equal(status.running, 1);
        assert.equal(status.versions[0].state, "good");
        assert.equal(status.versions[0].factory, true);
        assert.match(await ok(m, "cat /proc/cmdline"), /(^| )panic=10( |$)/);

        const before = log().length;
        const applied = await ok(m, "strata-update apply", 5 * 60 * 1000);
        assert.match(applied, /the next boot runs version 2 on trial/);
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
        assert.equal(await version(m), "2");
        assert.equal((await ok(m, "cat /etc/app-version")).trim(), "2");
        // The health service blesses the trial entry: it loses its counter, well within 2 minutes.
        await ok(
          m,
          "for i in $(seq 120); do test -e /efi/loader/entries/strata-2.conf && exit 0; sleep 1; done; ls /efi/loader/entries; exit 1",
          180_000,
        );
        const blessed = JSON.parse(await ok(m, "strata-update status --json"));
        assert.deepEqual(
          blessed.versions.map((v: { version: number; state: string }) => [v.version, v.state]),
          [
            [1, "good"],
            [2, "good"],
          ],
        );

        await ok(m, "strata-update switch 1");
        await m.reboot({ timeoutMs: BOOT_MS });
        await m.login("root", PASSWORD);
        assert.equal(await version(m), "1", "switch 1 boots version 1");

        // From v1, v3 is applied: the next boot is the loader's default again (the newest version
        // that is not bad: v3 on trial), not v1. v3 fails its health check, is marked bad and
        // reboots by itself into v2, the newest good version.
        const v3 = await publish(dir, { app: "3", fail: "yes" });
        assert.equal(v3.version, 3);
        await ok(m, NETWORK);
        assert.match(await ok(m, "strata-update apply", 5 * 60 * 1000), /runs version 3 on trial/);
        m.send("reboot\n");
        await m.waitFor(/strata: version 3, /, BOOT_MS);
        await m.waitFor(/health check 'this version is not the broken one' failed/, BOOT_MS);
        await m.waitFor(/strata: version 2, /, BOOT_MS);
        await m.login("root", PASSWORD);
        assert.equal(await version(m), "2");
        assert.match(await ok(m, "ls /efi/loader/entries"), /strata-3\+0-1\.conf/);

        // v4's initramfs cannot mount its root: each try panics and reboots (panic=10), the
        // entry counts down to +0 and v2 boots again: within 4 boots.
        const v4 = await publish(dir, { app: "2", extra: "strata.root=broken" });
        assert.equal(v4.version, 4);
        assert.deepEqual(
          v4.added.filter((f) => f.path.startsWith("layers/") || f.path.startsWith("boot/")),
          [],
          "v4 differs from v2 only in its command line",
        );
        await ok(m, NETWORK);
        assert.match(await ok(m, "strata-update apply", 5 * 60 * 1000), /runs version 4 on trial/);
        const mark = m.output.length;
        m.send("reboot\n");
        await m.waitFor(/strata: version 2, /, 4 * BOOT_MS);
        await m.login("root", PASSWORD);
        assert.equal(await version(m), "2");
        const panics = m.output
          .slice(mark)
          .match(/strata\.root=broken: use immutable or persistent/g);
        assert.equal(panics?.length, 3, "three tries, each a panic");
        assert.match(await ok(m, "ls /efi/loader/entries"), /strata-4\+0-3\.conf/);
        const after = JSON.parse(await ok(m, "strata-update status --json"));
        assert.equal(after.running, 2);
        assert.deepEqual(
          after.versions.map((v: { version: number; state: string }) => [v.version, v.state]),
          [
            [1, "good"],
            [2, "good"],
            [3, "bad"],
            [4, "bad"],
          ],
        );
      } catch (e) {
        throw new Error(`${(e as Error).message}\n--- console ---\n${m.tail(80)}`, { cause: e });
      } finally {
        await m.close();
      }
    });

    it("BIOS, persistent root: a trial boots once; one that changes /etc and fails falls back to the old /etc while shared data stays; a healthy one is blessed and becomes GRUB's default", async () => {
      const v1 = await publish(persistentDir, { app: "1" });
      const m = await bootMachine({
        image: join(v1.out, "persist.img"),
        arch: "amd64",
        boot: "bios",
      });
      const entries = "ls /run/strata/store/update/entries";
      const grubDefault = "sed -n 's/^set default=//p' /run/strata/store/boot/grub/grub.cfg";
      try {
        await m.login("root", PASSWORD);
        assert.equal(await version(m), "1");
        await ok(m, "echo mine > /etc/changed-by-hand && echo 1 > /var/lib/app/mine && sync");
        assert.match(await ok(m, "findmnt -n -o TARGET /var/lib/app"), /\/var\/lib\/app/);
        const etc = await ok(m, ETC_SNAPSHOT);
        assert.match(etc, /changed-by-hand/);

        // v2 changes /etc and fails: GRUB boots it once, it is marked bad, v1 comes back.
        const v2 = await publish(persistentDir, { app: "2", fail: "yes" });
        await ok(m, NETWORK);
        assert.match(
          await ok(m, "strata-update apply", 5 * 60 * 1000),
          new RegExp(`runs version ${v2.version} on trial`),
        );
        assert.equal((await ok(m, grubDefault)).trim(), "strata-1", "a trial is not the default");
        m.send("reboot\n");
        await m.waitFor(
          new RegExp(`strata: version ${v2.version} starts from the changes of version 1`),
          BOOT_MS,
        );
        await m.waitFor(/health check .* failed/, BOOT_MS);
        await m.waitFor(/strata: version 1, /, BOOT_MS);
        await m.login("root", PASSWORD);
        assert.equal(await version(m), "1");
        assert.equal(await ok(m, ETC_SNAPSHOT), etc, "/etc is exactly what version 1 had");
        assert.equal((await ok(m, "cat /var/lib/app/mine /var/lib/app/last")).trim(), "1\n2");
        assert.match(await ok(m, entries), new RegExp(`strata-${v2.version}\\+0-\\d\\.conf`));

        // v3 is healthy: it boots once on trial, is blessed and becomes grub.cfg's default.
        const v3 = await publish(persistentDir, { app: "3" });
        await ok(m, NETWORK);
        assert.match(await ok(m, "strata-update apply", 5 * 60 * 1000), /on trial/);
        await m.reboot({ timeoutMs: BOOT_MS });
        await m.login("root", PASSWORD);
        assert.equal(await version(m), String(v3.version));
        assert.equal((await ok(m, "cat /etc/changed-by-hand")).trim(), "mine", "v1's changes");
        await ok(
          m,
          `for i in $(seq 120); do test -e /run/strata/store/update/entries/strata-${v3.version}.conf && exit 0; sleep 1; done; ${entries}; exit 1`,
          180_000,
        );
        assert.equal(
          (await ok(m, grubDefault)).trim(),
          `strata-${v3.version}`,
          "blessed: the default",
        );
      } catch (e) {
        throw new Error(`${(e as Error).message}\n--- console ---\n${m.tail(80)}`, { cause: e });
      } finally {
        await m.close();
      }
    });
  });
});
