/**
 * `strata flash` against `dd` of the whole image, to the same loop device in the same run:
 *
 *   bytes written ÷ image size (what the bmap saves)
 *   seconds of strata flash (write + verify, and write alone) ÷ dd bs=4M conv=fsync
 *
 * The image is synthetic: 1 GiB, GPT, one ext4 partition holding ~150 MiB of random files
 * (mkfs.ext4 -d), and its bmap from bmaptool, as a strata disk output has. The image is read
 * once beforehand so both start from the page cache; the target's backing file is emptied
 * (holes punched) between the two runs.
 *
 * Run as root after `npm run build`:  node dist/bench/flash.js
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { flash } from "../src/commands/flash.js";

const MIB = 1048576;
const sh = (cmd: string, args: string[], input?: string) =>
  execFileSync(cmd, args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "inherit"] });

function timed<T>(f: () => T): [T, number] {
  const t = process.hrtime.bigint();
  const value = f();
  return [value, Number(process.hrtime.bigint() - t) / 1e9];
}

const work = mkdtempSync("/var/tmp/strata-bench-flash-");
let loop: string | undefined;
try {
  const files = join(work, "files");
  for (let i = 0; i < 15; i++) {
    mkdirSync(join(files, `d${i}`), { recursive: true });
    writeFileSync(join(files, `d${i}`, "data.bin"), randomBytes(10 * MIB));
  }
  const image = join(work, "disk.img");
  sh("truncate", ["-s", "1G", image]);
  sh("sfdisk", ["-q", image], "label: gpt\nstart=2048, type=linux\n");
  sh("mkfs.ext4", ["-q", "-F", "-d", files, "-E", `offset=${MIB}`, image, "1020M"]);
  sh("bmaptool", ["-q", "create", "-o", `${image}.bmap`, image]);
  sh("sh", ["-c", `cat "${image}" > /dev/null`]);

  const target = join(work, "card");
  sh("truncate", ["-s", "1088M", target]);
  loop = sh("losetup", ["--find", "--show", target]).trim();

  // Each run starts from an unallocated target: the backing file's blocks punched out and
  // the loop device's page cache dropped, so neither run finds the other's blocks.
  const fresh = () => {
    sh("fallocate", ["--punch-hole", "--offset", "0", "--length", String(1088 * MIB), target]);
    sh("blockdev", ["--flushbufs", loop as string]);
  };
  const [, ddSeconds] = timed(() =>
    sh("dd", [`if=${image}`, `of=${loop}`, "bs=4M", "conv=fsync", "status=none"]),
  );
  fresh();
  const t = process.hrtime.bigint();
  const result = await flash(image, loop, { yes: true });
  const flashSeconds = Number(process.hrtime.bigint() - t) / 1e9;
  const writeSeconds = result.writeSeconds;

  const row = (name: string, value: string) =>
    process.stdout.write(`${name.padEnd(48)} ${value.padStart(12)}\n`);
  process.stdout.write(`synthetic 1 GiB GPT + ext4 image, ~150 MiB of files, to ${loop}\n`);
  row("image size", `${(result.imageBytes / MIB).toFixed(0)} MiB`);
  row("strata flash bytes written", `${(result.bytesWritten / MIB).toFixed(1)} MiB`);
  row("  ÷ image size (the bmap's saving)", (result.bytesWritten / result.imageBytes).toFixed(3));
  row("dd bs=4M conv=fsync, whole image (baseline)", `${ddSeconds.toFixed(2)} s`);
  row("strata flash, write + verify", `${flashSeconds.toFixed(2)} s`);
  row("  ÷ dd", (flashSeconds / ddSeconds).toFixed(2));
  row("strata flash, write alone", `${writeSeconds.toFixed(2)} s`);
  row("  ÷ dd", (writeSeconds / ddSeconds).toFixed(2));
  row("write / verify speed", `${result.writeMiBps} / ${result.verifyMiBps} MiB/s`);
} finally {
  if (loop) sh("losetup", ["-d", loop]);
  rmSync(work, { recursive: true, force: true });
}
