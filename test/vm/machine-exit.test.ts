/**
 * A program that boots a machine and ends without closing it (process.exit, SIGTERM) leaves
 * no QEMU process and no temporary file behind: QEMU and the machine's temporary directory are
 * in the reaping registry (host/cleanups.ts). Runs a child node process with the FAKE qemu,
 * without the CLI's signal handling, so SIGTERM still ends it as the default action would.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { tempDir } from "../helpers.js";
import { entriesWith, fakeImage, installFakeQemu, processesWith } from "./fake.js";

const dir = tempDir("strata-machine-exit-test-");
const machineJs = new URL("../../src/vm/machine.js", import.meta.url).href;
let bin: string;
let image: string;
before(() => {
  bin = installFakeQemu(dir);
  image = fakeImage(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A child that boots, logs in, prints "up", then ends as `how` says. */
async function child(how: string): Promise<{ code: number | null; signal: string | null }> {
  const script = join(dir, `child-${how}.mjs`);
  writeFileSync(
    script,
    `import { bootMachine } from ${JSON.stringify(machineJs)};
const m = await bootMachine({ image: ${JSON.stringify(image)}, arch: "amd64", boot: "bios", accel: "tcg", tmpDir: ${JSON.stringify(dir)} });
await m.login();
process.stdout.write("up " + m.disk + "\\n");
${how === "exit" ? "process.exit(3);" : "setInterval(() => {}, 1000);"}
`,
  );
  const p = spawn(process.execPath, [script], {
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  p.stdout.on("data", (b: Buffer) => {
    out += b.toString();
    if (how === "sigterm" && out.includes("up ")) p.kill("SIGTERM");
  });
  const [code, signal] = (await once(p, "exit")) as [number | null, string | null];
  const disk = /up (\S+)/.exec(out)?.[1];
  assert.ok(disk, `the child booted: ${out}`);
  assert.deepEqual(processesWith(disk), [], "no QEMU left");
  return { code, signal };
}

it("reaps on process.exit", async () => {
  assert.equal((await child("exit")).code, 3);
  assert.deepEqual(entriesWith(dir, "strata-vm-"), []);
});

it("reaps on SIGTERM and still dies of it", async () => {
  assert.equal((await child("sigterm")).signal, "SIGTERM");
  assert.deepEqual(entriesWith(dir, "strata-vm-"), []);
});
