import assert from "node:assert/strict";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { checkSandboxDests, leadsOutOfRoot } from "../../src/build/sandbox-dests.js";
import { tempDir } from "../helpers.js";

function root(links: Record<string, string>, dirs: string[] = []): string {
  const r = tempDir();
  for (const d of dirs) mkdirSync(join(r, d), { recursive: true });
  for (const [path, target] of Object.entries(links)) {
    mkdirSync(join(r, path, ".."), { recursive: true });
    symlinkSync(target, join(r, path));
  }
  return r;
}

it("lets mount points resolve inside the root or into bubblewrap's scratch root", () => {
  const r = root(
    {
      "etc/resolv.conf": "../run/systemd/resolve/stub-resolv.conf",
      "usr/sbin/policy-rc.d": "/run/elsewhere",
      tmp: "var/tmp",
    },
    ["var/tmp", "usr/sbin"],
  );
  assert.equal(leadsOutOfRoot(r, "/etc/resolv.conf"), false);
  assert.equal(leadsOutOfRoot(r, "/usr/sbin/policy-rc.d"), false);
  assert.equal(leadsOutOfRoot(r, "/tmp"), false);
  assert.equal(leadsOutOfRoot(r, "/var/cache/apt/archives"), false);
});

it("refuses mount points that reach the host through bubblewrap's /oldroot", () => {
  const r = root({
    "usr/sbin/policy-rc.d": "../../../oldroot/etc/nologin",
    "etc/resolv.conf": "/oldroot/etc/motd",
    var: "../../newroot/var",
    "a/loop": "loop",
  });
  assert.equal(leadsOutOfRoot(r, "/usr/sbin/policy-rc.d"), true);
  assert.equal(leadsOutOfRoot(r, "/etc/resolv.conf"), true);
  assert.equal(leadsOutOfRoot(r, "/var/lib/apt/lists"), true);
  assert.equal(leadsOutOfRoot(r, "/a/loop"), true);
  assert.throws(() => checkSandboxDests(r, ["/tmp", "/etc/resolv.conf"]), {
    code: "E_LAYER_FILE",
    message: /\/etc\/resolv\.conf in the layer's tree is a symlink that leads out of the tree/,
  });
});
