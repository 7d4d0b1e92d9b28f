/**
 * Disk outputs that cannot work are refused before anything is assembled, each with a message
 * that says what is wrong and what would be right: a `size` too small for the layers (with the
 * size needed), no kernel in the stack (naming its layers), and a `boot` the architecture does
 * not have (refused with the recipe's place before any layer is built).
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  cli,
  mountsUnder,
  needsRoot,
  ROOT,
  TEST_CACHE,
  tempDir,
  writeRecipe,
  NO_KERNEL_LAYERS,
} from "../helpers.js";

const layersIn = (cache: string) =>
  existsSync(join(cache, "layers")) ? readdirSync(join(cache, "layers")).sort() : [];
const images = (dir: string) => readdirSync(dir).filter((f) => f.includes(".img"));

describe("bad disk outputs", { skip: needsRoot }, () => {
  const out = tempDir("strata-out-");
  after(() => rmSync(out, { recursive: true, force: true }));

  it("a size too small for the layers names the size needed", () => {
    const dir = tempDir("strata-recipe-");
    cpSync(join(ROOT, "examples/disk"), dir, { recursive: true });
    const yaml = readFileSync(join(dir, "strata.yaml"), "utf8").replace(
      "- { type: disk }",
      "- { type: disk, size: 300M }",
    );
    writeFileSync(join(dir, "strata.yaml"), yaml);
    const r = cli(["build", dir, "--cache-dir", TEST_CACHE, "--out", out]);
    rmSync(dir, { recursive: true, force: true });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /E_DISK_SIZE/);
    assert.match(r.stderr, /size 300 MiB is too small; it needs at least \d+ MiB \(layers \d+ MiB/);
    assert.match(r.stderr, /hint: set `size: [\d.]+[GM]` or more/);
    assert.deepEqual(images(out), []);
    assert.deepEqual(mountsUnder(TEST_CACHE), []);
  });

  it("a stack without a kernel is refused, naming its layers", () => {
    const recipe = writeRecipe(`${NO_KERNEL_LAYERS}outputs:
  - { type: disk }
`);
    const r = cli(["build", recipe, "--cache-dir", TEST_CACHE, "--out", out]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /E_NO_KERNEL.*no kernel in its layers \(base → app\)/);
    assert.match(r.stderr, /hint: add linux-image-amd64 to the packages of one of these layers/);
    assert.deepEqual(images(out), []);
  });

  it("boot: bios on arm64 is refused at the recipe's line, before any layer is built", () => {
    const cache = tempDir("strata-cache-");
    const recipe = writeRecipe(`name: armbios
distro: { suite: trixie, arch: arm64 }
layers:
  - name: base
    bootstrap: { variant: minbase, packages: [linux-image-arm64] }
outputs:
  - { type: disk, boot: bios }
`);
    const commands = [
      ["validate", recipe],
      ["build", recipe, "--cache-dir", cache, "--out", out],
    ];
    for (const args of commands) {
      const r = cli(args);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /strata\.yaml:7:\d+: outputs\[0\]\.boot: boot: bios is not supported on arm64/,
      );
      assert.match(r.stderr, /hint: use `boot: uefi`/);
    }
    assert.deepEqual(layersIn(cache), []);
    rmSync(cache, { recursive: true, force: true });
  });
});
