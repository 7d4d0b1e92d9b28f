/**
 * Netboot and live benchmarks for examples/disk, against its disk image (GPT, UEFI, immutable:
 * the same layers from a store partition), measured in the same run on the same machine:
 *
 *   boot to login (QEMU start → login prompt), netboot direct ÷ disk
 *   the same through PXE (SeaBIOS, iPXE, TFTP, HTTP) ÷ disk
 *   bytes the server sent for a netboot ÷ the layers' bytes           target 1.0 (nothing twice)
 *   live: root.sqfs (the layers merged) ÷ the layer modules, and its boot ÷ the disk's
 *   ISO (with the installer): bytes ÷ the disk image's zstd bytes, and its CD boot ÷ the disk's
 *
 * Run as root after `npm run build`:  node dist/bench/netboot.js [--runs N]
 * Boots use KVM when the probe says it works, else TCG (STRATA_ACCEL forces one).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { build } from "../src/build/build.js";
import { silentReporter } from "../src/progress.js";
import { bootMachine, type BootOptions } from "../src/vm/machine.js";
import { exampleWith } from "../test/example-recipe.js";
import { liveBoot, netbootBoot, type RamBoot } from "../src/vm/ram-boot.js";

const runs = Number(process.argv[process.argv.indexOf("--runs") + 1]) || 1;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const recipe = exampleWith(mkdtempSync("/var/tmp/strata-bench-recipe-"), [
  "{ type: disk, name: disk }",
  '{ type: netboot, name: net, url: "http://10.0.2.2/" }',
  "{ type: live, name: live }",
  "{ type: iso, name: iso, installer: true }",
]);
const cache = process.env.STRATA_CACHE_DIR ?? mkdtempSync("/var/tmp/strata-bench-cache-");
const out = mkdtempSync("/var/tmp/strata-bench-out-");

/** Seconds from QEMU's start to the login prompt. */
async function bootSeconds(options: BootOptions): Promise<[number, string]> {
  const m = await bootMachine(options);
  try {
    await m.waitFor(/login: *$/m, 600_000);
    return [m.secondsToLogin ?? Number.NaN, m.accel.accel];
  } finally {
    await m.close();
  }
}

async function ramBootSeconds(rb: RamBoot): Promise<[number, string, number]> {
  try {
    const [s, accel] = await bootSeconds(rb.launch);
    return [s, accel, rb.server?.stats().bytes ?? 0];
  } finally {
    await rb.close();
  }
}

try {
  const result = await build(recipe, { cacheDir: cache, out, reporter: silentReporter });
  const layerBytes = result.layers.filter((l) => l.file).reduce((n, l) => n + l.bytes, 0);
  const rootBytes = statSync(join(out, "live.live", "root.sqfs")).size;
  const times = {
    disk: [] as number[],
    net: [] as number[],
    pxe: [] as number[],
    live: [] as number[],
    iso: [] as number[],
  };
  const isoBytes = statSync(join(out, "iso.iso")).size;
  const diskZstd = Number(
    execFileSync("sh", ["-c", `zstd -q -T0 -3 -c "${join(out, "disk.img")}" | wc -c`], {
      encoding: "utf8",
    }),
  );
  let sent = 0;
  let accel = "";
  for (let i = 0; i < runs; i++) {
    [times.disk[i] as number, accel] = await bootSeconds({
      image: join(out, "disk.img"),
      arch: "amd64",
      boot: "uefi",
    });
    const net = await ramBootSeconds(await netbootBoot(join(out, "net.netboot")));
    times.net.push(net[0]);
    sent = net[2];
    times.pxe.push(
      (await ramBootSeconds(await netbootBoot(join(out, "net.netboot"), { pxe: true })))[0],
    );
    times.live.push((await ramBootSeconds(liveBoot(join(out, "live.live"))))[0]);
    times.iso.push(
      (await bootSeconds({ cdrom: join(out, "iso.iso"), arch: "amd64", boot: "uefi" }))[0],
    );
  }
  const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
  const row = (name: string, value: string, target = "") =>
    process.stdout.write(`${name.padEnd(56)} ${value.padStart(12)}   ${target}\n`);
  const ratio = (k: keyof typeof times) => (median(times[k]) / median(times.disk)).toFixed(2);
  process.stdout.write(`examples/disk, ${runs} boot run(s) each, ${accel}\n`);
  row("boot to login, disk image (UEFI, store; baseline)", `${median(times.disk).toFixed(1)} s`);
  row("boot to login, netboot (direct kernel boot)", `${median(times.net).toFixed(1)} s`);
  row("  ÷ disk", ratio("net"));
  row("boot to login, netboot through PXE and iPXE", `${median(times.pxe).toFixed(1)} s`);
  row("  ÷ disk", ratio("pxe"));
  row("layer bytes / bytes the server sent (netboot)", `${mib(layerBytes)} / ${mib(sent)}`);
  row("  sent ÷ layer bytes", (sent / layerBytes).toFixed(4), "target 1.0");
  row("live root.sqfs (layers merged) / layer modules", `${mib(rootBytes)} / ${mib(layerBytes)}`);
  row("  merged ÷ layers", (rootBytes / layerBytes).toFixed(3));
  row("boot to login, live (kernel + initramfs + root.sqfs)", `${median(times.live).toFixed(1)} s`);
  row("  ÷ disk", ratio("live"));
  row("ISO bytes / disk image zstd -3 bytes", `${mib(isoBytes)} / ${mib(diskZstd)}`);
  row("  ISO ÷ disk zstd", (isoBytes / diskZstd).toFixed(2));
  row("boot to login, ISO as a CD (UEFI)", `${median(times.iso).toFixed(1)} s`);
  row("  ÷ disk", ratio("iso"));
} finally {
  for (const dir of [out, recipe]) rmSync(dir, { recursive: true, force: true });
  if (!process.env.STRATA_CACHE_DIR) rmSync(cache, { recursive: true, force: true });
}
