import assert from "node:assert/strict";
import { it } from "node:test";
import { sandboxArgv, STEP_CAPABILITIES } from "../../src/build/sandbox.js";

const mounts = { root: "/r", aptArchives: "/a", aptLists: "/l", stage: "/s" };
const argv = (network: "none" | "mirrors" | "host", aptWritable = false) =>
  sandboxArgv(mounts, ["sh"], { env: { A: "1" }, network, aptWritable });
const pairs = (a: string[], flag: string) =>
  a.flatMap((x, i) => (x === flag ? [`${a[i + 1]} ${a[i + 2]}`] : []));

it("drops every capability but the package scripts' own set", () => {
  const a = argv("none");
  assert.equal(a[a.indexOf("--cap-drop") + 1], "ALL");
  const added: string[] = a.flatMap((x, i) => (x === "--cap-add" ? [a[i + 1] ?? ""] : []));
  assert.deepEqual([...added], [...STEP_CAPABILITIES]);
  for (const cap of [
    "CAP_SYS_ADMIN",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_PTRACE",
    "CAP_MKNOD",
    "CAP_NET_ADMIN",
    "CAP_DAC_READ_SEARCH",
  ])
    assert.ok(!added.includes(cap), cap);
  for (const ns of ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"])
    assert.ok(a.includes(ns), ns);
});

it("keeps the kernel's settings read-only and devices out of the root", () => {
  const a = argv("none");
  assert.ok(pairs(a, "--ro-bind-try").includes("/proc/sys /proc/sys"));
  // --bind (not --dev-bind) mounts nodev; /dev is bubblewrap's own minimal one.
  assert.ok(!a.includes("--dev-bind"));
  assert.ok(pairs(a, "--ro-bind").includes("/sys /sys"));
});

it("gives a network and a writable package cache only where asked", () => {
  const run = argv("none");
  assert.ok(run.includes("--unshare-net"));
  assert.ok(pairs(run, "--ro-bind").includes("/a /var/cache/apt/archives"));
  assert.ok(pairs(run, "--ro-bind").includes("/l /var/lib/apt/lists"));
  assert.ok(!pairs(run, "--ro-bind").some((p) => p.startsWith("/etc/resolv.conf")));
  const apt = argv("mirrors", true);
  assert.ok(!apt.includes("--unshare-net"));
  assert.ok(pairs(apt, "--bind").includes("/a /var/cache/apt/archives"));
  assert.ok(pairs(apt, "--ro-bind").includes("/etc/resolv.conf /etc/resolv.conf"));
  assert.ok(!argv("host").includes("--unshare-net"));
});
