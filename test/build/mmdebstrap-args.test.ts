import assert from "node:assert/strict";
import { it } from "node:test";
import { boundingSet, mmdebstrapArgs } from "../../src/build/bootstrap.js";
import type { Settings } from "../../src/build/context.js";
import { sourcesLines } from "../../src/build/context.js";

const distro = {
  suite: "trixie",
  arch: "arm64",
  mirror: "http://m.example/debian",
  security: "http://m.example/debian-security",
  updates: true,
  components: ["main", "non-free-firmware"],
  recommends: false,
};

const settings = {
  distro,
  aptArchives: "/var/cache/apt/archives",
  aptLists: "/c/lists",
  epoch: 1,
} as unknown as Settings;

it("bootstraps with the host's caches and the distro's sources", () => {
  assert.deepEqual(sourcesLines(distro), [
    "deb http://m.example/debian trixie main non-free-firmware",
    "deb http://m.example/debian trixie-updates main non-free-firmware",
    "deb http://m.example/debian-security trixie-security main non-free-firmware",
  ]);
  assert.deepEqual(sourcesLines({ ...distro, suite: "sid" }), [
    "deb http://m.example/debian sid main non-free-firmware",
  ]);
  const args = mmdebstrapArgs(
    settings,
    { variant: "minbase", packages: ["systemd", "udev"] },
    "/r",
  );
  assert.ok(args.includes("--architectures=arm64"));
  assert.ok(args.includes("--include=systemd,udev"));
  assert.ok(args.some((a) => a.startsWith("--setup-hook=") && a.includes("/c/lists")));
  assert.deepEqual(args.slice(-5, -3), ["trixie", "/r"]);
});

it("runs the package scripts of a bootstrap with the steps' capabilities and read-only /proc/sys", () => {
  const args = mmdebstrapArgs(settings, { variant: "minbase", packages: [] }, "/r");
  const dpkg = args.find((a) => a.startsWith("--aptopt=DPkg::Options"));
  assert.ok(dpkg?.includes(`"setpriv"; "--bounding-set=${boundingSet()}"; "--"; "env";`), dpkg);
  assert.match(boundingSet(), /^-all,\+chown,/);
  assert.ok(!boundingSet().includes("sys_admin"));
  assert.ok(args.some((a) => a.startsWith("--essential-hook=") && a.includes("remount,bind,ro")));
  // The finished root keeps neither the prefix nor the read-only mounts.
  assert.ok(args.some((a) => a.includes("sed -i '/strata-sandbox/d'")));
  assert.ok(
    args.some((a) => a.startsWith("--customize-hook=") && a.includes('umount "$1/proc/$p"')),
  );
});
