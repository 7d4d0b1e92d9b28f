/**
 * The build sandbox, tried the way a hostile recipe would: each step below tries one way out
 * (a host device, the kernel's settings, a kernel module, the host's loopback services, the
 * shared package cache) and must fail with the tool's own message while the host stays as it
 * was. Then apt's cache: a cached .deb with the right size but the wrong bytes is never
 * installed. All of it builds small layers on the shared base in TEST_CACHE.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { cli, mountsUnder, needsRoot, TEST_CACHE, tempDir, writeRecipe } from "../helpers.js";

const BASE = `distro: { suite: trixie, arch: amd64 }
layers:
  - name: base
    bootstrap: { variant: minbase, packages: [ca-certificates] }
`;

function recipe(name: string, layer: string): string {
  return writeRecipe(`name: ${name}\n${BASE}  - name: try\n${layer}outputs:\n  - { type: tar }\n`);
}

function build(path: string, env: Record<string, string> = {}, extra: string[] = []) {
  const out = tempDir("strata-out-");
  try {
    return cli(["build", path, "--cache-dir", TEST_CACHE, "--out", out, ...extra], env);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** A run step as YAML, from a script (bash, so that /dev/tcp works). */
const runStep = (script: string, extra = "") =>
  `    steps:\n      - run:\n          script: |\n${script
    .split("\n")
    .map((l) => `            ${l}`)
    .join("\n")}\n${extra}`;

describe("the build sandbox", { skip: needsRoot }, () => {
  // The host's service runs in its own process: cli() blocks this one while a build runs.
  let server: ChildProcess;
  let port = 0;
  const log = join(tempDir("strata-sandbox-"), "connections");
  const connections = () => (existsSync(log) ? readFileSync(log, "utf8").length : 0);
  const corePattern = readFileSync("/proc/sys/kernel/core_pattern", "utf8");
  const hostMounts = readFileSync("/proc/mounts", "utf8");

  before(async () => {
    const code = `const fs = require("fs");
      const s = require("net").createServer((c) => { fs.appendFileSync(${JSON.stringify(log)}, "x"); c.end("hello from the host\\n"); });
      s.listen(0, "127.0.0.1", () => console.log(s.address().port));`;
    server = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "inherit"] });
    port = await new Promise<number>((resolve) =>
      server.stdout?.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))),
    );
  });
  after(() => server.kill());

  const escapes: [string, string, RegExp][] = [
    [
      "a device node for the host's disk, then mounting it",
      "mknod /tmp/disk b 7 0\nmount /tmp/disk /mnt",
      /mknod: \/tmp\/disk: Operation not permitted/,
    ],
    [
      "mounting anything",
      "mount -t tmpfs none /mnt",
      /mount: \/mnt: permission denied|must be superuser/,
    ],
    [
      "writing the kernel's settings",
      "echo '|/tmp/pwn' > /proc/sys/kernel/core_pattern",
      /Read-only file system/,
    ],
    [
      "loading a kernel module (init_module)",
      // A kernel built without modules says ENOSYS to anyone; the capability test below
      // checks that CAP_SYS_MODULE is gone either way.
      `perl -e 'my $m = "x" x 64; my $p = ""; syscall(175, $m, 64, $p) == -1 or exit 0; print "init_module: $!\\n"; exit 1'`,
      /init_module: (Operation not permitted|Function not implemented)/,
    ],
    [
      "a service on the host's loopback",
      "exec 3<>/dev/tcp/127.0.0.1/PORT",
      /Connection refused|Network is unreachable|Cannot assign requested address/,
    ],
    [
      "writing into apt's shared package cache",
      "touch /var/cache/apt/archives/strata-sandbox-test.deb",
      /Read-only file system/,
    ],
    [
      "writing into the shared package lists",
      "touch /var/lib/apt/lists/strata-sandbox-test",
      /Read-only file system/,
    ],
  ];

  for (const [what, script, message] of escapes) {
    it(`refuses ${what}`, () => {
      const r = build(
        recipe(
          "escape",
          runStep(`bash -ec '${script.replaceAll("PORT", String(port)).replaceAll("'", "'\\''")}'`),
        ),
      );
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(r.stderr, /E_STEP_FAILED/);
      assert.match(r.stderr, message);
    });
  }

  it("left the host as it was", () => {
    assert.equal(connections(), 0);
    assert.equal(readFileSync("/proc/sys/kernel/core_pattern", "utf8"), corePattern);
    assert.equal(readFileSync("/proc/mounts", "utf8"), hostMounts);
    assert.ok(!existsSync("/var/cache/apt/archives/strata-sandbox-test.deb"));
    assert.deepEqual(mountsUnder(TEST_CACHE), []);
  });

  it("gives a run step the host's network when it asks for it", () => {
    const r = build(
      recipe(
        "network",
        runStep(
          `bash -ec 'exec 3<>/dev/tcp/127.0.0.1/${port}; read -r line <&3; test "$line" = "hello from the host"'`,
          "          network: true\n",
        ),
      ),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(connections(), 1);
  });

  it("gives strata shell no network unless --network", () => {
    const path = recipe("shellnet", runStep("true"));
    const probe = `exec 3<>/dev/tcp/127.0.0.1/${port} && read -r line <&3 && echo "got: $line"`;
    const shell = (...extra: string[]) =>
      cli(["shell", path, "--cache-dir", TEST_CACHE, ...extra, "-c", `bash -c '${probe}'`]);
    const before = connections();
    const off = shell();
    assert.notEqual(off.code, 0, off.stdout);
    assert.equal(connections(), before);
    const on = shell("--network");
    assert.equal(on.code, 0, on.stderr);
    assert.match(on.stdout, /got: hello from the host/);
    assert.equal(connections(), before + 1);
  });

  it("keeps the capabilities package scripts need, and none beyond", () => {
    const r = build(
      recipe(
        "caps",
        runStep(
          [
            "grep -q '^NoNewPrivs:.1' /proc/self/status",
            'test "$(grep ^CapEff /proc/self/status | cut -f2)" = 00000000a00405fb',
            "chown 1:1 /tmp && chmod 1777 /tmp && chroot / true",
          ].join("\n"),
        ),
      ),
    );
    assert.equal(r.code, 0, r.stderr);
  });
});

describe("apt's shared package cache", { skip: needsRoot }, () => {
  const archives = tempDir("strata-apt-cache-");
  after(() => rmSync(archives, { recursive: true, force: true }));

  it("never installs a cached .deb whose bytes differ from the package lists", () => {
    const path = recipe(
      "debcheck",
      `    packages: [hello]\n${runStep("hello | grep -q 'Hello, world'")}`,
    );
    // --rebuild: the layer may be cached from an earlier run, and its download must happen.
    const first = build(path, { STRATA_APT_CACHE: archives }, ["--rebuild", "try"]);
    assert.equal(first.code, 0, first.stderr);
    const name = readdirSync(archives).find((f) => /^hello_.*\.deb$/.test(f));
    assert.ok(name, "hello's .deb is in the private cache");
    const deb = join(archives, name);
    const good = readFileSync(deb);
    const bad = Buffer.from(good);
    bad[bad.length - 100] = (bad[bad.length - 100] ?? 0) ^ 0xff;
    writeFileSync(deb, bad);

    const again = build(path, { STRATA_APT_CACHE: archives }, ["--rebuild", "try"]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      `${again.stdout}${again.stderr}`,
      new RegExp(`did not match the package lists: ${name}`),
    );
    assert.ok(readFileSync(deb).equals(good), "apt downloaded the right file again");
  });
});
