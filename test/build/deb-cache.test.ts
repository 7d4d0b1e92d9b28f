/** The guard of the shared .deb cache, on a real directory with hand-made files. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import {
  DebCache,
  debSpec,
  type ExpectedDeb,
  parsePrintUris,
  printedDebs,
} from "../../src/build/deb-cache.js";
import { tempDir } from "../helpers.js";

const expect = (content: string): ExpectedDeb => ({
  size: Buffer.byteLength(content),
  sha256: createHash("sha256").update(content).digest("hex"),
});

function setup() {
  const dir = tempDir();
  const state = join(tempDir(), "state.json");
  const lists = new Map<string, ExpectedDeb>([
    ["a_1_amd64.deb", expect("package a")],
    ["b_2_all.deb", expect("package b")],
  ]);
  const asked: string[][] = [];
  const lookup = async (names: string[]) => {
    asked.push(names);
    return new Map([...lists].filter(([n]) => names.includes(n)));
  };
  return { dir, cache: new DebCache(dir, state), lookup, asked, state };
}

it("reads apt's --print-uris lines, and takes only SHA-256 as proof", () => {
  const out = [
    "'http://m/pool/h/hello_2.10-5_amd64.deb' hello_2.10-5_amd64.deb 53228 MD5Sum:205bff7f0368ca10574c658af3cbb572",
    `'http://m/pool/a/a_1%3a2_all.deb' a_1%3a2_all.deb 10 SHA256:${"ab".repeat(32)}`,
    "Reading package lists...",
  ].join("\n");
  assert.deepEqual(printedDebs(out), ["hello_2.10-5_amd64.deb", "a_1%3a2_all.deb"]);
  assert.deepEqual(
    [...parsePrintUris(out)],
    [["a_1%3a2_all.deb", { size: 10, sha256: "ab".repeat(32) }]],
  );
  assert.equal(debSpec("a_1%3a2_all.deb"), "a=1:2");
  assert.equal(debSpec("libc6_2.41-12_amd64.deb"), "libc6:amd64=2.41-12");
  assert.equal(debSpec("../x.deb"), undefined);
});

it("deletes a cached file whose bytes differ from the lists before apt uses it", async () => {
  const { dir, cache, lookup, asked } = setup();
  writeFileSync(join(dir, "a_1_amd64.deb"), "package a");
  writeFileSync(join(dir, "b_2_all.deb"), "package B"); // same size, other bytes
  const r = await cache.checkBeforeUse(["a_1_amd64.deb", "b_2_all.deb", "c_3_all.deb"], lookup);
  assert.deepEqual(r.removed, ["b_2_all.deb"]);
  assert.ok(existsSync(join(dir, "a_1_amd64.deb")) && !existsSync(join(dir, "b_2_all.deb")));
  // Checked once: the next use of the unchanged file asks nothing.
  await cache.checkBeforeUse(["a_1_amd64.deb"], lookup);
  assert.equal(asked.length, 1);
  // Changed since: checked again.
  writeFileSync(join(dir, "a_1_amd64.deb"), "package A");
  assert.deepEqual((await cache.checkBeforeUse(["a_1_amd64.deb"], lookup)).removed, [
    "a_1_amd64.deb",
  ]);
});

it("checks what a step wrote into the cache, and deletes what the lists do not vouch for", async () => {
  const { dir, cache, lookup } = setup();
  writeFileSync(join(dir, "old_1_all.deb"), "the host's own file");
  const r = await cache.guard(async () => {
    writeFileSync(join(dir, "a_1_amd64.deb"), "package a"); // a good download
    writeFileSync(join(dir, "b_2_all.deb"), "tampered!"); // a script's doing
    writeFileSync(join(dir, "evil_9_all.deb"), "unknown"); // not in the lists
  }, lookup);
  assert.deepEqual(r.removed.sort(), ["b_2_all.deb", "evil_9_all.deb"]);
  assert.ok(existsSync(join(dir, "a_1_amd64.deb")));
  assert.ok(existsSync(join(dir, "old_1_all.deb")), "files from before the step are left alone");
});

it("after a build killed in a step, deletes what that step wrote unchecked", async () => {
  const { dir, cache, lookup, state } = setup();
  await assert.rejects(
    cache.guard(async () => {
      writeFileSync(join(dir, "a_1_amd64.deb"), "package a");
      throw new Error("killed");
    }, lookup),
  );
  const pending = `${state}.pending-${process.pid}`;
  assert.ok(existsSync(pending));
  // Another live build's step in progress is not touched.
  writeFileSync(`${state}.pending-1`, "{}");
  const r = await cache.guard(async () => {}, lookup);
  assert.deepEqual(r.removed, ["a_1_amd64.deb"]);
  assert.ok(!existsSync(pending));
  assert.ok(existsSync(`${state}.pending-1`));
});
