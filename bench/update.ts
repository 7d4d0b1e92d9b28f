/**
 * Update benchmarks: examples/disk with an app layer and `update:`, published twice (the app
 * layer changes), measured in one run on the same machine:
 *
 *   bytes fetched by an app-only update ÷ the full image (layers + kernel + initramfs)  target ≤ 0.05
 *   layer bytes fetched by a no-op update (the device runs the channel's version)       target 0
 *   seconds of the app-only `apply` (start to commit) ÷ downloading the app layer alone
 *
 * The device is the agent (assets/update/strata-update) run on the host against a store and an
 * ESP in directories (src/update/device.ts); the repository is served on 127.0.0.1 by
 * `strata serve`'s server, whose request log counts the bytes. The baseline download uses the
 * agent's own client (apt-helper) for the same file from the same server.
 *
 * Run as root after `npm run build`:  node dist/bench/update.js [--cache DIR]
 */
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { publish } from "../src/commands/publish.js";
import { silentReporter } from "../src/progress.js";
import { startServer } from "../src/serve/server.js";
import { checkDevice, deviceFromRepo } from "../src/update/device.js";
import { generateKey } from "../src/update/keys.js";
import { readRelease } from "../src/update/repo.js";

const root = join(fileURLToPath(import.meta.url), "..", "..", "..");
const AGENT = join(root, "assets/update/strata-update");
const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const work = mkdtempSync("/var/tmp/strata-bench-update-");
const cache = arg("--cache") ?? join(work, "cache");

/** Runs `command`, resolving with its wall-clock seconds; rejects on a non-zero exit. */
function timed(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  const start = process.hrtime.bigint();
  return new Promise((done, fail) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: "inherit" });
    child.on("error", fail);
    child.on("close", (code) =>
      code === 0
        ? done(Number(process.hrtime.bigint() - start) / 1e9)
        : fail(new Error(`${command} ${args.join(" ")} exited ${code}`)),
    );
  });
}

const recipe = join(work, "recipe");
cpSync(join(root, "examples/disk"), recipe, { recursive: true });
writeFileSync(
  join(recipe, "strata.yaml"),
  readFileSync(join(recipe, "strata.yaml"), "utf8")
    .replace(/^tests:[\s\S]*$/m, "")
    .replace("  hostname: strata-vm", '  hostname: strata-vm\n  port: "0"\n  app: "1"')
    .replace(
      /^outputs:/m,
      [
        "  - name: app",
        "    steps:",
        // An application of 4 MiB that does not compress: a new build is new bytes.
        "      - run: mkdir -p /opt/app && head -c 4194304 /dev/urandom > /opt/app/data && echo ${app} > /opt/app/version",
        "update:",
        '  url: "http://127.0.0.1:${port}"',
        "  keyring: keys/update.pub",
        "outputs:",
      ].join("\n"),
    ),
);
const key = await generateKey(join(recipe, "keys/update"), "bench");
const repo = join(work, "repo");
mkdirSync(repo);
const log = join(work, "serve.jsonl");
const server = await startServer({ dir: repo, port: 0, log });
const served = () =>
  readFileSync(log, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { path: string; bytes: number });

try {
  for (const app of ["1", "2"]) {
    await publish(recipe, {
      repo,
      key: key.secret,
      set: { app, port: String(server.port) },
      cacheDir: cache,
      out: join(work, `out-${app}`),
      reporter: silentReporter,
    });
  }
  const v2 = readRelease(repo, 2);
  const imageBytes =
    v2.layers.reduce((n, l) => n + l.bytes, 0) + v2.vmlinuz.bytes + v2.initrd.bytes;

  const apply = async (version: number) => {
    const dir = join(work, `device-${version}`);
    const device = deviceFromRepo(repo, version, dir);
    writeFileSync(
      join(dir, "update.conf"),
      `url=${server.url}\nchannel=stable\nrecipe=disk\narch=amd64\nboot=uefi\nkeyring=${key.public}\n`,
    );
    mkdirSync(join(dir, "efivars"));
    const before = served().length;
    const seconds = await timed("sh", [AGENT, "apply"], {
      STRATA_UPDATE_CONF: join(dir, "update.conf"),
      STRATA_STORE: device.store,
      STRATA_ESP: device.esp,
      STRATA_RUNNING_VERSION: String(version),
      STRATA_EFIVARS: join(dir, "efivars"),
    });
    const problems = checkDevice(device);
    if (problems.length > 0) throw new Error(`the device is not whole: ${problems.join("; ")}`);
    const fetched = served().slice(before);
    const sum = (f: typeof fetched) => f.reduce((n, l) => n + l.bytes, 0);
    return {
      seconds,
      bytes: sum(fetched),
      layerBytes: sum(fetched.filter((l) => l.path.startsWith("/layers/"))),
    };
  };
  const appOnly = await apply(1);
  const noop = await apply(2);

  const v1 = readRelease(repo, 1);
  const app = v2.layers.find((l) => !v1.layers.some((o) => o.digest === l.digest));
  if (!app) throw new Error("version 2 has no layer that version 1 lacks");
  const download = await timed("/usr/lib/apt/apt-helper", [
    "-o",
    "APT::Sandbox::User=root",
    "download-file",
    `${server.url}/layers/${app.digest}.sqfs`,
    join(work, "baseline.sqfs"),
  ]);

  const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
  const row = (name: string, value: string, target = "") =>
    process.stdout.write(`${name.padEnd(56)} ${value.padStart(12)}   ${target}\n`);
  process.stdout.write("examples/disk + an app layer, app-only update v1 → v2, one run\n");
  row("full image: layers + kernel + initramfs", kib(imageBytes));
  row("app layer", kib(app.bytes));
  row("bytes fetched, app-only update", kib(appOnly.bytes));
  row(
    "bytes fetched, app-only update ÷ full image",
    (appOnly.bytes / imageBytes).toFixed(4),
    "target ≤ 0.05",
  );
  row("layer bytes fetched, no-op update", String(noop.layerBytes), "target 0");
  row("app layer download alone (baseline)", `${download.toFixed(2)} s`);
  row("apply, app-only update (start to commit)", `${appOnly.seconds.toFixed(2)} s`);
  row("apply ÷ layer download", (appOnly.seconds / download).toFixed(2));
} finally {
  await server.close();
  rmSync(work, { recursive: true, force: true });
}
