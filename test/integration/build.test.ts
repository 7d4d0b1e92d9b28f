/**
 * The build engine end to end, with mmdebstrap, bubblewrap, overlayfs, squashfs and the real
 * mirror: what lands in which layer, caching, invalidation, reproducibility.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { BuildResult } from "../../src/build/build.js";
import { BuildReport } from "../../src/report/schema.js";
import { cli, mountsUnder, needsRoot, ROOT, tempDir } from "../helpers.js";

const listModule = (file: string) =>
  execFileSync("unsquashfs", ["-lls", "-d", "", file], { encoding: "utf8", maxBuffer: 64 << 20 });

/** Every path with its type, mode, owner, size, mtime and link target, and every file's sha256. */
const treeListing = (dir: string) =>
  execFileSync(
    "sh",
    [
      "-c",
      // A directory's size depends on what it ever held, not on what it holds: left out.
      'cd "$1" && { find . ! -type d -printf "%p %y %m %U %G %s %T@ %l\\n"; find . -type d -printf "%p %m %U %G %T@\\n"; } | sort && find . -type f -exec sha256sum {} + | sort',
      "sh",
      dir,
    ],
    { encoding: "utf8", maxBuffer: 256 << 20 },
  );

function aptArchive(): string[] {
  const dir = execFileSync("apt-config", ["shell", "A", "Dir::Cache::archives/d"], {
    encoding: "utf8",
  });
  const path = /A='([^']+)'/.exec(dir)?.[1] ?? "/var/cache/apt/archives/";
  return readdirSync(path).filter((f) => f.endsWith(".deb"));
}

describe("build examples/minimal", { skip: needsRoot }, () => {
  let cache: string;
  let out: string;
  let first: BuildResult;

  const build = (recipe: string, ...args: string[]): BuildResult => {
    const r = cli(["build", recipe, "--json", "--cache-dir", cache, "--out", out, ...args]);
    assert.equal(r.code, 0, `build failed:\n${r.stderr}\n${r.stdout}`);
    return JSON.parse(r.stdout) as BuildResult;
  };
  const cachedFlags = (r: BuildResult) => r.layers.map((l) => [l.name, l.cached]);
  /** `tree` equals the dir output a build of the same layers into a fresh directory copies whole. */
  const assertSameAsWholeCopy = (tree: string, ...args: string[]) => {
    const fresh = tempDir("strata-out-");
    const r = cli([
      "build",
      join(ROOT, "examples/minimal"),
      "--cache-dir",
      cache,
      "--out",
      fresh,
      ...args,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(treeListing(tree), treeListing(join(fresh, "system")));
    rmSync(fresh, { recursive: true, force: true });
  };

  before(() => {
    cache = tempDir("strata-cache-");
    out = tempDir("strata-out-");
  });
  after(() => {
    rmSync(cache, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });

  it("builds every layer into its own module and merges them", () => {
    first = build(join(ROOT, "examples/minimal"));
    assert.deepEqual(cachedFlags(first), [
      ["base", false],
      ["system", false],
    ]);
    for (const l of first.layers) {
      assert.match(l.digest, /^sha256:[0-9a-f]{64}$/);
      assert.ok(l.bytes > 0 && typeof l.seconds === "number");
    }
    assert.deepEqual(
      first.layers.map((l) => l.file),
      ["01-base.sqfs", "02-system.sqfs"],
    );
    const tree = join(out, "system");
    assert.deepEqual(
      first.outputs.map((o) => [o.type, o.layer, o.path]),
      [["dir", "system", tree]],
    );
    assert.ok((first.outputs[0]?.bytes ?? 0) > 10 << 20, "the tree's bytes are measured");
    // A cold build moves the bootstrapped tree into place and adds the layers above it; the
    // result is the tree a build from the cached modules copies whole.
    assertSameAsWholeCopy(join(out, "system"));

    // What each layer put there is in the merged tree...
    assert.equal(readFileSync(join(tree, "etc/hostname"), "utf8"), "minimal\n");
    assert.equal(readFileSync(join(tree, "etc/motd"), "utf8"), "Built by strata.\n");
    assert.equal(statSync(join(tree, "usr/local/bin/hello")).mode & 0o777, 0o755);
    assert.ok(existsSync(join(tree, "usr/bin/ip")), "iproute2 from the top layer");
    assert.ok(existsSync(join(tree, "usr/bin/dpkg")), "dpkg from the base layer");
    // ...and only what the layer changed is in its module.
    const base = listModule(join(out, "01-base.sqfs"));
    const system = listModule(join(out, "02-system.sqfs"));
    assert.match(base, /\/usr\/bin\/dpkg\n/);
    assert.doesNotMatch(system, /\/usr\/bin\/dpkg\n/);
    assert.match(system, /\/usr\/bin\/ip\n/);
    // A file the top layer deleted: in the base module, a whiteout above it, absent when merged.
    assert.match(base, /^-.* \/etc\/issue\.net$/m);
    assert.match(system, /^c--------- root\/root\s+0,\s+0 .* \/etc\/issue\.net$/m);
    assert.equal(existsSync(join(tree, "etc/issue.net")), false);
    // Build-time plumbing does not leak into the layer.
    assert.doesNotMatch(system, /resolv\.conf|policy-rc\.d|pkgcache\.bin|dpkg\.log/);

    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    const added = manifest.layers[1].packages.added.map((p: { name: string }) => p.name);
    assert.ok(added.includes("iproute2"));
    assert.ok(
      manifest.layers[0].packages.added.some(
        (p: { name: string; version: string }) => p.name === "dpkg" && p.version,
      ),
    );
    assert.equal(manifest.layers[1].digest, first.layers[1]?.digest);
  });

  it("rebuilds nothing and downloads nothing when nothing changed", () => {
    const debs = aptArchive();
    const again = build(join(ROOT, "examples/minimal"));
    assert.deepEqual(cachedFlags(again), [
      ["base", true],
      ["system", true],
    ]);
    assert.deepEqual(
      again.layers.map((l) => l.digest),
      first.layers.map((l) => l.digest),
    );
    // Forcing the top layer to build again installs its packages from the shared apt cache.
    const forced = build(join(ROOT, "examples/minimal"), "--rebuild", "system");
    assert.deepEqual(cachedFlags(forced), [
      ["base", true],
      ["system", false],
    ]);
    assert.deepEqual(aptArchive(), debs, "no .deb was downloaded");
    assert.equal(
      forced.layers[1]?.digest,
      first.layers[1]?.digest,
      "the same inputs give the same bytes",
    );
  });

  it("rebuilds only the top layer when only the top changed, and says why", () => {
    const r = cli([
      "build",
      join(ROOT, "examples/minimal"),
      "--cache-dir",
      cache,
      "--out",
      out,
      "--set",
      "motd=Changed.",
      "--explain",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /base: cached/);
    assert.match(r.stderr, /system: rebuilt: changed: steps\[2\]\.write\.content changed/);
    assert.equal(readFileSync(join(out, "system/etc/motd"), "utf8"), "Changed.\n");
    // The dir output was updated in place; it equals a tree copied whole from the same layers.
    assertSameAsWholeCopy(join(out, "system"), "--set", "motd=Changed.");
  });

  it("plans before building: `strata plan` says what a build would do and why, and builds nothing", () => {
    const args = [join(ROOT, "examples/minimal"), "--cache-dir", cache, "--set", "motd=Planned."];
    const r = cli(["plan", ...args, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const p = JSON.parse(r.stdout);
    assert.deepEqual(
      p.layers.map((l: { name: string; cached: boolean }) => [l.name, l.cached]),
      [
        ["base", true],
        ["system", false],
      ],
    );
    assert.match(p.layers[1].reason, /changed: steps\[2\]\.write\.content changed/);
    assert.equal(p.toBuild, 1);
    assert.deepEqual(
      p.outputs.map((o: { type: string; file: string; stack: string[] }) => [
        o.type,
        o.file,
        o.stack,
      ]),
      [["dir", "system", ["base", "system"]]],
    );
    const text = cli(["plan", ...args]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^cached base /m);
    assert.match(text.stdout, /^build {2}system on base /m);
    assert.match(text.stdout, /^1 of 2 layers to build$/m);
    // Planning built nothing: the same plan still has its layer to build.
    assert.equal(JSON.parse(cli(["plan", ...args, "--json"]).stdout).toBuild, 1);
  });

  it("records the build in report.json and, when asked, in a self-contained HTML page", () => {
    const html = join(tempDir("strata-report-"), "build.html");
    const r = build(join(ROOT, "examples/minimal"), "--set", "motd=Reported.", "--report", html);
    assert.equal(r.report, join(out, "report.json"));
    const report = BuildReport.parse(JSON.parse(readFileSync(r.report, "utf8")));
    assert.deepEqual(
      report.layers.map((l) => [l.name, l.status, l.origin]),
      [
        ["base", "cached", "recipe"],
        ["system", "built", "recipe"],
      ],
    );
    const steps = report.layers[1]?.steps.map((s) => s.label) ?? [];
    assert.ok(steps.includes("layers[1].steps[1] (write: /etc/motd)"), steps.join(", "));
    assert.equal(steps.at(-1), "pack (mksquashfs)");
    assert.ok(report.layers[1]?.packages.added.some((p) => p.name === "iproute2"));
    assert.deepEqual(
      report.outputs.map((o) => [o.type, o.name, o.layer]),
      [["dir", "system", "system"]],
    );
    const page = readFileSync(html, "utf8");
    assert.match(page, /<svg[^>]*>[\s\S]*<\/svg>/);
    assert.doesNotMatch(page, /<(script|link|img)[^>]+(src|href)=["']?https?:/);
    rmSync(join(html, ".."), { recursive: true, force: true });
  });

  it("rebuilds everything above a changed base", () => {
    const dir = tempDir("strata-recipe-");
    cpSync(join(ROOT, "examples/minimal"), dir, { recursive: true });
    const file = join(dir, "strata.yaml");
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace(
        "packages: [ca-certificates]",
        "packages: [ca-certificates, less]",
      ),
    );
    const r = build(dir, "--explain");
    assert.deepEqual(cachedFlags(r), [
      ["base", false],
      ["system", false],
    ]);
    assert.ok(r.layers[0]?.reason.includes("bootstrap.packages[1] added"), r.layers[0]?.reason);
    assert.ok(
      r.layers[1]?.reason.includes("layer 'base' below it was rebuilt"),
      r.layers[1]?.reason,
    );
    assert.ok(existsSync(join(out, "system/usr/bin/less")));
  });

  it("gives byte-identical modules when the same inputs are built again from scratch", () => {
    const again = build(join(ROOT, "examples/minimal"), "--rebuild", "*");
    assert.deepEqual(cachedFlags(again), [
      ["base", false],
      ["system", false],
    ]);
    assert.deepEqual(
      again.layers.map((l) => l.digest),
      first.layers.map((l) => l.digest),
    );
  });

  it("leaves no mount behind", () => {
    assert.deepEqual(mountsUnder(cache), []);
  });
});
