import assert from "node:assert/strict";
import { it } from "node:test";
import { mmdebstrapArgs } from "../../src/build/bootstrap.js";
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

it("bootstraps with the host's caches and the distro's sources", () => {
  assert.deepEqual(sourcesLines(distro), [
    "deb http://m.example/debian trixie main non-free-firmware",
    "deb http://m.example/debian trixie-updates main non-free-firmware",
    "deb http://m.example/debian-security trixie-security main non-free-firmware",
  ]);
  assert.deepEqual(sourcesLines({ ...distro, suite: "sid" }), [
    "deb http://m.example/debian sid main non-free-firmware",
  ]);
  const settings = {
    distro,
    aptArchives: "/var/cache/apt/archives",
    aptLists: "/c/lists",
    epoch: 1,
  } as unknown as Settings;
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
