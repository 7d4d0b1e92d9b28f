#!/usr/bin/env node
/**
 * The `strata` command. The only place that prints results and errors and sets the exit code;
 * everything else is a library call (see index.ts).
 */
import { Command, CommanderError, Option } from "commander";
import { build } from "./build/build.js";
import { cacheGc, cacheList } from "./commands/cache.js";
import { doctor } from "./commands/doctor.js";
import { flash } from "./commands/flash.js";
import { planRecipe } from "./commands/plan.js";
import { runImage } from "./commands/run.js";
import { shell } from "./commands/shell.js";
import { formatTestSummary, testRecipe } from "./commands/test.js";
import { publish } from "./commands/publish.js";
import { serve } from "./commands/serve.js";
import { validate } from "./commands/validate.js";
import { generateKey } from "./update/keys.js";
import { gcRepo, withRepoLock } from "./update/repo.js";
import { formatProblem, StrataError } from "./errors.js";
import { handleSignals } from "./host/cleanups.js";
import { defaultReporter } from "./progress.js";
import { urlProblem } from "./recipe/fields.js";
import { parseSize } from "./recipe/size.js";
import { parseSetArgs } from "./recipe/vars.js";
import { STRATA_VERSION } from "./version.js";

const collect = (value: string, previous: string[]) => [...previous, value];
const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

function sets(values: string[]): Record<string, string> {
  try {
    return parseSetArgs(values);
  } catch (e) {
    throw new StrataError("E_USAGE", (e as Error).message, { hint: "--set name=value" });
  }
}

/** `--mirror URL`: http(s) only, one word (the recipe's `distro.mirror` rule), or E_USAGE. */
function mirrorUrl(value: string): string {
  const problem = urlProblem(value);
  if (problem) {
    throw new StrataError("E_USAGE", `--mirror ${JSON.stringify(value)}: ${problem}`, {
      hint: "e.g. --mirror http://mirror.example/debian",
    });
  }
  return value;
}

/** The options of `commonBuildOptions`, as the library takes them. */
function buildOptions(o: Record<string, unknown>) {
  return {
    set: sets(o.set as string[]),
    mirror: o.mirror as string | undefined,
    cacheDir: o.cacheDir as string | undefined,
    aptCacheDir: o.aptCache as string | undefined,
    rebuild: o.rebuild as string[],
    verbose: o.verbose as boolean | undefined,
    refresh: o.refresh as boolean | undefined,
    // CI sets these once for every build: STRATA_CACHE_FROM (space-separated), STRATA_CACHE_TO.
    cacheFrom: [
      ...((o.cacheFrom as string[] | undefined) ?? []),
      ...(process.env.STRATA_CACHE_FROM?.split(/\s+/).filter(Boolean) ?? []),
    ],
    cacheTo: (o.cacheTo as string | undefined) ?? (process.env.STRATA_CACHE_TO || undefined),
    registryAuthFile: o.authfile as string | undefined,
    registryCertDir: o.certDir as string | undefined,
    registryInsecure: o.insecure as boolean | undefined,
    key: o.key as string | undefined,
  };
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function reportError(e: unknown, json: boolean): number {
  if (e instanceof StrataError) {
    if (json) printJson({ ok: false, error: e.toJSON() });
    else {
      process.stderr.write(`strata: error[${e.code}]: ${e.message}\n`);
      for (const p of e.problems) process.stderr.write(`  ${formatProblem(p)}\n`);
      if (e.hint) process.stderr.write(`  hint: ${e.hint}\n`);
    }
    return e.code === "E_USAGE" ? 2 : 1;
  }
  if (json) printJson({ ok: false, error: { code: "E_INTERNAL", message: String(e) } });
  process.stderr.write(`strata: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
  return 70;
}

const program = new Command()
  .name("strata")
  .description("Build bootable, updatable Debian systems from a recipe of stacked, cached layers.")
  .version(STRATA_VERSION)
  .showHelpAfterError()
  .exitOverride();

const commonBuildOptions = (cmd: Command) =>
  cmd
    .option("--set <name=value>", "override a recipe variable (repeatable)", collect, [])
    .option(
      "--mirror <url>",
      "Debian mirror (default: the recipe's, else the host's apt configuration)",
      mirrorUrl,
    )
    .option("--cache-dir <dir>", "layer cache (default: /var/cache/strata or $STRATA_CACHE_DIR)")
    .option("--apt-cache <dir>", "apt package cache to share (default: the host's)")
    .option(
      "--rebuild <layer>",
      "rebuild this layer and those above it even if cached; * for all",
      collect,
      [],
    )
    .option("--refresh", "refresh apt's package lists even when they are fresh (younger than 6 h)")
    .option(
      "--key <file>",
      "secret signing key (`strata key generate`): signs update versions and the netboot " +
        "manifest of a recipe with `update:`",
    )
    .option(
      "--cache-from <ref>",
      "also look for missing layers in this OCI registry repository (repeatable; $STRATA_CACHE_FROM)",
      collect,
      [],
    )
    .option(
      "--cache-to <ref>",
      "push the layers to this OCI registry repository ($STRATA_CACHE_TO)",
    )
    .option(
      "--authfile <file>",
      "registry credentials (default: $REGISTRY_AUTH_FILE, then skopeo's own)",
    )
    .option(
      "--cert-dir <dir>",
      "CA certificates (*.crt) and client certificates (*.cert, *.key) for the registries (default: the system's)",
    )
    .option("--insecure", "plain http to a registry on 127.0.0.1 (a local test registry)")
    .option("-v, --verbose", "print every line of tool output when not on a terminal");

commonBuildOptions(
  program
    .command("build")
    .description("build the recipe's layers (cached) and its outputs")
    .argument("[recipe]", "recipe file, or a directory holding strata.yaml", ".")
    .option("-o, --out <dir>", "where modules, manifest.json and outputs go", "out")
    .option(
      "--explain",
      "say for each rebuilt layer which input changed, and at the end where each layer came from",
    )
    .option("--report <file.html>", "also write the build report as one self-contained HTML file")
    .option("--json", "print the result as JSON on stdout"),
).action(async (recipe: string, o) => {
  const result = await build(recipe, {
    ...buildOptions(o),
    out: o.out,
    explain: o.explain,
    reportHtml: o.report,
  });
  if (o.json) {
    printJson({ ok: true, ...result });
    return;
  }
  for (const l of result.layers) {
    process.stdout.write(
      `${(l.file ?? `(${l.name})`).padEnd(24)} ${l.pulledFrom ? "pulled " : l.cached ? "cached " : "built  "} ${mib(l.bytes).padStart(10)}  ${l.digest.slice(0, 19)}${l.cached ? "" : `  ${l.seconds.toFixed(1)} s`}\n`,
    );
  }
  for (const out of result.outputs) process.stdout.write(`${out.type.padEnd(6)} ${out.path}\n`);
  process.stdout.write(`manifest ${result.manifest}\n`);
});

program
  .command("validate")
  .description("check the whole recipe and report every problem; builds nothing")
  .argument("[recipe]", "recipe file, or a directory holding strata.yaml", ".")
  .option("--set <name=value>", "override a recipe variable (repeatable)", collect, [])
  .option("--json", "print the result as JSON on stdout")
  .action((recipe: string, o) => {
    const result = validate(recipe, sets(o.set));
    if (o.json) return printJson({ ok: true, ...result });
    process.stdout.write(
      `${result.file}: ok (${result.layers.length} layers, ${result.outputs.length} outputs)\n`,
    );
    for (const l of result.layers) {
      process.stdout.write(
        `  ${l.name}${l.parent ? ` (on ${l.parent})` : ""}: ${l.steps.length} steps${l.addedBy ? `, added by ${l.addedBy}` : ""}\n`,
      );
    }
    for (const o of result.outputs)
      process.stdout.write(`  ${o.type} ${o.file} (top layer ${o.layer})\n`);
  });

commonBuildOptions(
  program
    .command("plan")
    .description(
      "show what `strata build` would do: every layer with its key, cached or why it would be built, and every output with its stack; builds nothing",
    )
    .argument("[recipe]", "recipe file, or a directory holding strata.yaml", ".")
    .option("--json", "print the plan as JSON on stdout"),
).action(async (recipe: string, o) => {
  const result = await planRecipe(recipe, buildOptions(o));
  if (o.json) return printJson({ ok: true, ...result });
  for (const l of result.layers) {
    const on = l.parent ? ` on ${l.parent}` : "";
    const by = l.addedBy ? ` [${l.addedBy.role} layer of ${l.addedBy.output}]` : "";
    process.stdout.write(
      `${l.cached ? "cached" : "build "} ${l.name}${on}${by}  ${l.key.slice(0, 12)}${l.cached ? "" : `\n       ${l.reason}`}\n`,
    );
  }
  for (const out of result.outputs) {
    const added = Object.entries(out.added).map(([role, layer]) => `, ${role}: ${layer}`);
    process.stdout.write(
      `output ${out.type} ${out.file}: ${out.stack.join(" → ")}${added.join("")}\n`,
    );
  }
  process.stdout.write(`${result.toBuild} of ${result.layers.length} layers to build\n`);
});

commonBuildOptions(
  program
    .command("shell")
    .description(
      "a shell in a layer's stacked root (builds what is not cached); changes are thrown away",
    )
    .argument("[recipe]", "recipe file, or a directory holding strata.yaml", ".")
    .argument("[layer]", "the top layer (default: the last one)")
    .option("-c, --command <script>", "run this shell command instead of an interactive shell")
    .option("--network", "give the shell the host's network (default: none, as in a run step)"),
).action(async (recipe: string, layer: string | undefined, o) => {
  const command = o.command ? ["/bin/sh", "-c", o.command] : ["/bin/bash", "-l"];
  process.exitCode = await shell(recipe, layer, command, {
    ...buildOptions(o),
    network: o.network === true,
  });
});

const cache = program.command("cache").description("inspect and trim the layer cache");
cache
  .command("ls")
  .description("list cached layers, most recently used first")
  .option("--cache-dir <dir>", "layer cache (default: /var/cache/strata or $STRATA_CACHE_DIR)")
  .option("--json", "print the result as JSON on stdout")
  .action((o) => {
    const items = cacheList(o.cacheDir);
    if (o.json) return printJson({ ok: true, layers: items });
    for (const i of items) {
      process.stdout.write(
        `${i.key.slice(0, 16)}  ${i.name.padEnd(16)} ${mib(i.bytes).padStart(10)}  last used ${i.lastUsed}\n`,
      );
    }
    process.stdout.write(
      `${items.length} layers, ${mib(items.reduce((n, i) => n + i.bytes, 0))}\n`,
    );
  });
cache
  .command("gc")
  .description(
    "remove cached layers that the given recipes do not use, or the oldest beyond a size budget",
  )
  .argument("[recipes...]", "recipes whose layers are kept")
  .option("--max-size <size>", "size budget, e.g. 10G")
  .option("--cache-dir <dir>", "layer cache (default: /var/cache/strata or $STRATA_CACHE_DIR)")
  .option("--mirror <url>", "the mirror the recipes were built with, if not the default", mirrorUrl)
  .option(
    "--set <name=value>",
    "a recipe variable the recipes were built with (repeatable)",
    collect,
    [],
  )
  .option("--json", "print the result as JSON on stdout")
  .action(async (recipes: string[], o) => {
    const result = await cacheGc({
      recipes,
      cacheDir: o.cacheDir,
      mirror: o.mirror,
      set: sets(o.set as string[]),
      maxBytes: o.maxSize ? parseSize(o.maxSize) : undefined,
    });
    if (o.json) return printJson({ ok: true, ...result });
    for (const r of result.removed)
      process.stdout.write(`removed ${r.key.slice(0, 16)} ${r.name} (${mib(r.bytes)})\n`);
    process.stdout.write(`freed ${mib(result.freedBytes)}; ${result.kept.length} layers kept\n`);
  });

program
  .command("doctor")
  .description("check the host tools and kernel features strata needs")
  .option("--json", "print the result as JSON on stdout")
  .action(async (o) => {
    const report = await doctor();
    if (o.json) {
      printJson(report);
    } else {
      for (const c of report.checks) {
        const mark = c.ok ? "ok  " : c.optional ? "opt " : "FAIL";
        process.stdout.write(
          `${mark} ${c.name.padEnd(28)} ${c.detail}${c.fix && !c.ok ? `  → ${c.fix}` : ""}\n`,
        );
      }
    }
    if (!report.ok) process.exitCode = 1;
  });

/** A whole number from `min` to `max` on the command line, or E_USAGE. */
const integer = (flag: string, min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new StrataError("E_USAGE", `${flag} ${value}: not a whole number from ${min} to ${max}`, {
      hint: `e.g. ${flag} ${min === 1 && max === 64 ? 2 : 2222}`,
    });
  }
  return n;
};

commonBuildOptions(
  program
    .command("run")
    .description(
      "boot a disk image, a live or a netboot directory in QEMU with the serial console on this " +
        "terminal (Ctrl-A X quits). A recipe is built first (cached) and its disk output booted " +
        "(else its live output; --netboot or --pxe: its netboot output, served on 127.0.0.1). " +
        "The guest boots a sparse copy of a disk image, so the build output stays as built " +
        "(--in-place boots the image itself). " +
        "KVM is used when it works, else TCG; STRATA_ACCEL=kvm|tcg decides instead.",
    )
    .argument(
      "[target]",
      "a disk image (.img, with its .img.json), an .iso, a .live or .netboot directory, or a recipe",
      ".",
    )
    .option("-o, --out <dir>", "where a recipe's build goes", "out")
    .option("--output <name>", "the recipe's output to boot, by name (default: the first)")
    .option("--netboot", "boot the netboot output over HTTP into RAM (direct kernel boot)")
    .option("--pxe", "boot the netboot output the PXE way: the NIC's iPXE ROM, TFTP, then HTTP")
    .option("--live", "boot the recipe's live output")
    .option("--iso", "boot the recipe's ISO output as a CD (--boot uefi|bios)")
    .option(
      "--usb",
      "boot an ISO as a USB stick it was written to: a copy 1 GiB larger (--disk-size), with room for persistence",
    )
    .option("--arch <arch>", "the image's architecture, amd64 or arm64 (default: its .img.json)")
    .option("--boot <firmware>", "the image's firmware, uefi or bios (default: its .img.json)")
    .option("--memory <size>", "guest memory (default 1G; a netboot: what netboot.json says)")
    .option(
      "--cpus <n>",
      "guest CPUs (default: 2 with KVM, 1 under TCG, where more can crash the guest)",
      integer("--cpus", 1, 64),
    )
    .option(
      "--ssh <port>",
      "forward 127.0.0.1:PORT to the guest's SSH port",
      integer("--ssh", 1, 65535),
    )
    .option("--disk-size <size>", "boot a disk of this size (a larger sparse copy), e.g. 8G")
    .option("--in-place", "boot the image itself, not a copy: the guest's changes stay in it"),
).action(async (target: string, o) => {
  process.exitCode = await runImage(target, {
    ...buildOptions(o),
    out: o.out,
    output: o.output,
    arch: o.arch,
    boot: o.boot,
    netboot: o.netboot === true,
    pxe: o.pxe === true,
    live: o.live === true,
    iso: o.iso === true,
    usb: o.usb === true,
    memoryMiB: o.memory !== undefined ? Math.floor(parseSize(o.memory) / 1048576) : undefined,
    cpus: o.cpus,
    sshPort: o.ssh,
    diskSizeBytes: o.diskSize !== undefined ? parseSize(o.diskSize) : undefined,
    inPlace: o.inPlace,
  });
});

commonBuildOptions(
  program
    .command("test")
    .description(
      "build the recipe (cached), boot a copy of its disk output, log in at the serial console " +
        "and run the recipe's tests.checks; writes JUnit XML and JSON reports and exits 1 if a " +
        "check failed. KVM is used when it works, else TCG; STRATA_ACCEL=kvm|tcg decides instead.",
    )
    .argument("[recipe]", "recipe file, or a directory holding strata.yaml", ".")
    .option("-o, --out <dir>", "where the build, the reports and the console log go", "out")
    .option("--output <name>", "the disk output to boot (default: tests.output, else the first)")
    .option("--junit <path>", "JUnit XML report (default: OUT/test-report.xml)")
    .option("--report <path>", "JSON report (default: OUT/test-report.json)")
    .option("--console-log <path>", "the guest's console (default: OUT/test-console.log)")
    .option("--json", "print the result as JSON on stdout"),
).action(async (recipe: string, o) => {
  const result = await testRecipe(recipe, {
    ...buildOptions(o),
    out: o.out,
    output: o.output,
    junit: o.junit,
    report: o.report,
    consoleLog: o.consoleLog,
  });
  if (o.json) printJson(result);
  else process.stdout.write(formatTestSummary(result));
  if (!result.ok) process.exitCode = 1;
});

const key = program.command("key").description("signing keys for update repositories");
key
  .command("generate")
  .description(
    "make an OpenPGP Ed25519 signing key: OUT.key (secret, mode 0600: keep it off the devices) " +
      "and OUT.pub (the keyring a recipe's `update.keyring` names)",
  )
  .requiredOption("--out <prefix>", "where the key goes, e.g. keys/update")
  .option("--name <name>", "a name for the key's user id", "update")
  .option("--force", "replace an existing key")
  .option("--json", "print the result as JSON on stdout")
  .action(async (o) => {
    const k = await generateKey(o.out, o.name, o.force === true);
    if (o.json) return printJson({ ok: true, ...k });
    process.stdout.write(`secret key  ${k.secret}  (keep it off the devices)\n`);
    process.stdout.write(`public key  ${k.public}  (name it in the recipe's update.keyring)\n`);
    process.stdout.write(`fingerprint ${k.fingerprint}\n`);
  });

commonBuildOptions(
  program
    .command("publish")
    .description(
      "build the recipe (cached) and add its disk output as the channel's next version of an " +
        "update repository (static files: serve them with `strata serve` or any web server); " +
        "with --gc, drop what no kept version references instead",
    )
    .argument("[recipe]", "recipe file, or a directory holding strata.yaml", ".")
    .requiredOption("--repo <dir>", "the update repository")
    .option("--channel <name>", "the channel (default: the recipe's update.channel)")
    .option("--output <name>", "the disk output to publish (default: the first)")
    .option("-o, --out <dir>", "where the build goes", "out")
    .option(
      "--valid-days <n>",
      "days devices accept the channel",
      integer("--valid-days", 1, 3650),
      30,
    )
    .option(
      "--gc",
      "remove versions no channel points at beyond the newest --keep, and their files",
    )
    .option(
      "--keep <n>",
      "with --gc: versions to keep besides the channels'",
      integer("--keep", 0, 100000),
      3,
    )
    .option("--json", "print the result as JSON on stdout"),
).action(async (recipe: string, o) => {
  if (o.gc) {
    const r = await withRepoLock(
      o.repo,
      (pid) => process.stderr.write(`waiting for ${o.repo}: process ${pid} holds its lock\n`),
      () => gcRepo(o.repo, o.keep),
    );
    if (o.json) return printJson({ ok: true, ...r });
    for (const f of r.removed) process.stdout.write(`removed ${f.path}\n`);
    process.stdout.write(`kept versions ${r.keptVersions.join(", ") || "none"}\n`);
    return;
  }
  if (!o.key)
    throw new StrataError("E_USAGE", "publish needs --key", { hint: "--key keys/update.key" });
  const r = await publish(recipe, {
    ...buildOptions(o),
    out: o.out,
    repo: o.repo,
    key: o.key,
    channel: o.channel,
    output: o.output,
    validDays: o.validDays,
  });
  if (o.json) return printJson({ ok: true, ...r });
  for (const f of r.added) process.stdout.write(`added ${f.path} (${mib(f.bytes)})\n`);
  process.stdout.write(
    r.changed
      ? `${r.recipe} version ${r.version} is channel ${r.channel}'s (serial ${r.serial}); ${mib(r.bytes)} added to ${r.repo}\n`
      : `${r.recipe}: channel ${r.channel} already has this build as version ${r.version}; nothing added\n`,
  );
});

program
  .command("serve")
  .description(
    "serve a directory (an update repository, a build's output) over HTTP with Range requests, " +
      "until interrupted; never a listing, never a file outside DIR",
  )
  .argument("<dir>", "the directory to serve")
  .option("--port <n>", "the port (0: any free one)", integer("--port", 0, 65535), 8080)
  .option("--bind <address>", "the address to listen on", "127.0.0.1")
  .option("--log <file>", "append one JSON line per request (path, status, bytes sent)")
  .option("--json", "print the URL as JSON on stdout once listening")
  .action(async (dir: string, o) => {
    await serve(dir, { port: o.port, bind: o.bind, log: o.log }, (server) => {
      if (o.json) printJson({ ok: true, url: server.url, port: server.port });
      else process.stdout.write(`serving ${dir} at ${server.url}/ (Ctrl-C stops)\n`);
    });
  });

/** Shows `details` and asks `question` on the terminal; only y or yes is a yes. */
async function askTerminal(question: string, details: string[]): Promise<boolean> {
  const { createInterface } = await import("node:readline/promises");
  for (const line of details) process.stderr.write(`${line}\n`);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^\s*y(es)?\s*$/i.test(await rl.question(`${question} `));
  } finally {
    rl.close();
  }
}

program
  .command("flash")
  .description(
    "write a disk image to a card or USB disk: only the blocks its IMAGE.bmap maps (without " +
      "one, the file's data extents; the device's old data stays in the rest, which the image " +
      "never reads), then read them back and compare checksums. Refuses, before writing " +
      "anything: a device that is mounted, has a mounted partition, is swap or is held by a " +
      "loop/dm device; the disk of this system's / or boot loader (/boot, /boot/efi); a device " +
      "smaller than the image; what is not a block device (--force-file: a regular file); and, " +
      "without --yes, standard input that is not a terminal (on a terminal it shows the device " +
      "and its partitions and asks)",
  )
  .argument("<image>", "the image, e.g. out/disk.img (its .bmap beside it is used)")
  .argument("<device>", "the whole device to write, e.g. /dev/sdb or /dev/mmcblk0")
  .option("-y, --yes", "write without asking")
  .option("--force-file", "write a regular file (created if missing) instead of a block device")
  .option("--no-verify", "do not read the written blocks back")
  .option("--json", "print the result as JSON on stdout")
  .action(async (image: string, device: string, o) => {
    const live = process.stderr.isTTY === true && !process.env.CI;
    const r = await flash(image, device, {
      yes: o.yes === true,
      forceFile: o.forceFile === true,
      verify: o.verify !== false,
      interactive: process.stdin.isTTY === true,
      confirm: askTerminal,
      reporter: defaultReporter(),
      live,
    });
    if (o.json) return printJson({ ok: true, ...r });
    process.stdout.write(
      `wrote ${mib(r.bytesWritten)} of ${mib(r.imageBytes)} (${r.mappedRanges} ranges) to ${r.device} ` +
        `in ${r.seconds.toFixed(1)} s (write ${r.writeMiBps} MiB/s` +
        `${r.verified ? `, verified at ${r.verifyMiBps} MiB/s` : ", not verified"})\n`,
    );
  });

program.addOption(new Option("--no-color").hideHelp());

async function main(argv: string[]): Promise<number> {
  const json = argv.includes("--json");
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    return reportError(e, json);
  }
}

// An interrupt still runs the cleanups of a build in progress (binfmt_misc, lock) and kills
// what strata started, then exits 130; a build's mounts go with its namespace in any case.
handleSignals();

process.exitCode = await main(process.argv);
