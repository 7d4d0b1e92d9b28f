/**
 * Every kind of step, built for real over the shared base layer: packages and removals,
 * users and groups with password hashes and SSH keys, services, timezone, locale, copy with
 * owner and mode, and the sandbox itself (/proc, /sys, /dev, no service starts).
 */
import assert from "node:assert/strict";
import { lstatSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { BuildResult } from "../../src/build/build.js";
import { cli, needsRoot, TEST_CACHE, tempDir, writeRecipe } from "../helpers.js";

const HASH =
  "$6$strata$0t4.HQY8cR0xjvJ3bJoT9oFxS6nQmQ1n2D1WbsUuW9gYfJ2H0s0v3y5.lD9oE2cA8y4Rrx9xW5yKqgkqYp6.1";
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIStrataTestKeyOnly strata@test";

describe("steps", { skip: needsRoot }, () => {
  let out: string;
  let result: BuildResult;
  let tree: string;

  before(() => {
    out = tempDir("strata-out-");
    const recipe = writeRecipe(
      `name: steps
distro: { suite: trixie, arch: amd64 }
vars: { zone: Europe/Berlin }
layers:
  - name: base
    bootstrap: { variant: minbase, packages: [ca-certificates] }
  - name: everything
    packages: [systemd]
    remove: [ca-certificates]
    steps:
      - groups: [{ name: app, gid: 1500 }]
      - users:
          - { name: app, uid: 1500, groups: [app], shell: /bin/bash, password: "${HASH}", ssh_authorized_keys: ["${KEY}"] }
          - { name: root, password: "${HASH}" }
      - services: { enable: [systemd-networkd.service], mask: [systemd-timesyncd.service] }
      - timezone: \${zone}
      - locale: en_US.UTF-8
      - copy: { from: tree, to: /opt/tree, owner: "app:app", mode: "0750" }
      - run: |
          test -r /proc/self/status && test -d /sys/class && test -c /dev/null
          if /usr/sbin/policy-rc.d ssh start; then exit 1; else test $? -eq 101; fi
          echo "$(id -u) $PWD" > /etc/strata-run
outputs:
  - { type: dir }
`,
      { "tree/bin/tool": "#!/bin/sh\n", "tree/etc/conf": "x=1\n" },
    );
    const r = cli(["build", recipe, "--json", "--cache-dir", TEST_CACHE, "--out", out]);
    assert.equal(r.code, 0, `${r.stderr}\n${r.stdout}`);
    result = JSON.parse(r.stdout) as BuildResult;
    tree = join(out, "everything");
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  it("installs and removes packages, and records both", () => {
    const changes = result.layers[1]?.packages;
    assert.ok(changes?.added.some((p) => p.name === "systemd"));
    assert.ok(changes?.removed.some((p) => p.name === "ca-certificates"));
    assert.throws(() => statSync(join(tree, "usr/sbin/update-ca-certificates")));
  });

  it("creates users and groups with hashes and keys", () => {
    assert.match(
      readFileSync(join(tree, "etc/passwd"), "utf8"),
      /^app:x:1500:1500::\/home\/app:\/bin\/bash$/m,
    );
    assert.match(readFileSync(join(tree, "etc/group"), "utf8"), /^app:x:1500:/m);
    const shadow = readFileSync(join(tree, "etc/shadow"), "utf8");
    assert.ok(shadow.includes(`app:${HASH}:`) && shadow.includes(`root:${HASH}:`));
    const keys = join(tree, "home/app/.ssh/authorized_keys");
    assert.equal(readFileSync(keys, "utf8"), `${KEY}\n`);
    assert.equal(statSync(keys).uid, 1500);
    assert.equal(statSync(keys).mode & 0o777, 0o600);
  });

  it("enables and masks services", () => {
    const wants = join(tree, "etc/systemd/system/multi-user.target.wants/systemd-networkd.service");
    assert.ok(lstatSync(wants).isSymbolicLink());
    assert.equal(
      readlinkSync(join(tree, "etc/systemd/system/systemd-timesyncd.service")),
      "/dev/null",
    );
  });

  it("sets the timezone and the locale", () => {
    assert.equal(readlinkSync(join(tree, "etc/localtime")), "/usr/share/zoneinfo/Europe/Berlin");
    assert.equal(readFileSync(join(tree, "etc/timezone"), "utf8"), "Europe/Berlin\n");
    assert.equal(readFileSync(join(tree, "etc/default/locale"), "utf8"), "LANG=en_US.UTF-8\n");
    assert.ok(statSync(join(tree, "usr/lib/locale/locale-archive")).size > 0);
  });

  it("copies a tree with owner and mode", () => {
    const st = statSync(join(tree, "opt/tree"));
    assert.equal(st.mode & 0o777, 0o750);
    assert.equal(statSync(join(tree, "opt/tree/etc/conf")).uid, 1500);
    assert.equal(readFileSync(join(tree, "opt/tree/bin/tool"), "utf8"), "#!/bin/sh\n");
  });

  it("runs scripts as root in / with /proc, /sys and /dev, and no service starting", () => {
    assert.equal(readFileSync(join(tree, "etc/strata-run"), "utf8"), "0 /\n");
  });
});
