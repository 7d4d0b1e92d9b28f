/**
 * `strata flash IMAGE DEVICE`: writes a disk image to a card or USB disk, only its mapped
 * blocks (the `.bmap` beside it, else one made now with `bmaptool create`, which reads the
 * file's extents), then reads them back and compares their checksums. Every refusal
 * (src/flash/target.ts) comes before the first byte is written; so does the confirmation.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { StrataError } from "../errors.js";
import { type Bmap, checkBmapMatches, parseBmap } from "../flash/bmap.js";
import { mibPerSecond, progressTo } from "../flash/progress.js";
import {
  describeDevice,
  inspectTarget,
  type SystemPaths,
  SYSTEM_PATHS,
  type Target,
} from "../flash/target.js";
import { verifyRanges, writeRanges } from "../flash/write.js";
import { run } from "../host/run.js";
import { requireTools } from "../host/tools.js";
import { type Reporter, silentReporter } from "../progress.js";

export interface FlashOptions {
  /** Write without asking. */
  yes?: boolean;
  /** Write a regular file (created if missing) instead of a block device. */
  forceFile?: boolean;
  /** Read back and compare (default true). */
  verify?: boolean;
  /** Whether a person can answer (stdin is a terminal); without --yes, false refuses. */
  interactive?: boolean;
  /** Asks the question after showing `details`; true writes. */
  confirm?: (question: string, details: string[]) => Promise<boolean>;
  reporter?: Reporter;
  /** Progress as a live line (a terminal) rather than a few plain lines. */
  live?: boolean;
  paths?: SystemPaths;
}

export interface FlashResult {
  image: string;
  device: string;
  /** The bmap used, or null when strata made one from the image's extents. */
  bmap: string | null;
  bytesWritten: number;
  imageBytes: number;
  mappedRanges: number;
  seconds: number;
  verified: boolean;
  writeMiBps: number;
  verifyMiBps: number | null;
  writeSeconds: number;
  verifySeconds: number | null;
}

function imageSize(image: string): number {
  let stat;
  try {
    stat = statSync(image);
  } catch {
    throw new StrataError("E_FLASH_IMAGE", `${image} does not exist`, {
      hint: "name a disk image, e.g. out/disk.img",
    });
  }
  if (!stat.isFile()) {
    throw new StrataError("E_FLASH_IMAGE", `${image} is not a regular file`, {
      hint: "name a disk image file, e.g. out/disk.img",
    });
  }
  return stat.size;
}

/** IMAGE.bmap when there is one; else a map of the file's data extents made now. */
async function loadBmap(
  image: string,
  bytes: number,
): Promise<{ bmap: Bmap; file: string | null }> {
  const beside = `${image}.bmap`;
  let text: string | undefined;
  try {
    text = readFileSync(beside, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new StrataError("E_FLASH_BMAP", `cannot read ${beside}: ${(e as Error).message}`, {
        hint: "make it readable, or remove it (strata flash then maps the image itself)",
      });
    }
  }
  if (text !== undefined) {
    const bmap = parseBmap(text, beside);
    checkBmapMatches(bmap, bytes, image, beside);
    return { bmap, file: beside };
  }
  // No checksums: the digests of the bytes written are what the verify compares with.
  requireTools(["bmaptool"]);
  const dir = mkdtempSync(join(tmpdir(), "strata-flash-"));
  try {
    const file = join(dir, `${basename(image)}.bmap`);
    await run("bmaptool", ["-q", "create", "--no-checksum", "-o", file, image]);
    const bmap = parseBmap(readFileSync(file, "utf8"), `bmaptool's map of ${image}`);
    checkBmapMatches(bmap, bytes, image, `bmaptool's map of ${image}`);
    return { bmap, file: null };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function confirmWrite(
  image: string,
  device: string,
  target: Target,
  options: FlashOptions,
): Promise<void> {
  if (options.yes) return;
  if (!options.interactive || !options.confirm) {
    throw new StrataError(
      "E_FLASH_CONFIRM",
      `not writing ${device} without confirmation: standard input is not a terminal`,
      { hint: `check that ${device} is the right device, then pass --yes` },
    );
  }
  const details =
    target.kind === "block"
      ? await describeDevice(target.device, options.paths)
      : [`${device}: a regular file${target.exists ? ` of ${target.bytes} bytes` : " (new)"}`];
  const question = `Write ${image} to ${device}? This destroys what it holds [y/N]`;
  if (!(await options.confirm(question, details))) {
    throw new StrataError("E_FLASH_CONFIRM", `not writing ${device}: not confirmed`, {
      hint: "answer y to write; --yes skips the question",
    });
  }
}

export async function flash(
  image: string,
  device: string,
  options: FlashOptions = {},
): Promise<FlashResult> {
  const reporter = options.reporter ?? silentReporter;
  const paths = options.paths ?? SYSTEM_PATHS;
  const imageBytes = imageSize(image);
  const { bmap, file } = await loadBmap(image, imageBytes);
  const inspect = () => inspectTarget(device, imageBytes, { forceFile: options.forceFile, paths });
  const checked = inspect();
  await confirmWrite(image, device, checked, options);
  // Again after the question: a card may have been swapped or mounted while it waited.
  const target = options.yes ? checked : inspect();
  const block = target.kind === "block";
  const begun = process.hrtime.bigint();
  try {
    const written = await writeRanges({
      image,
      target: device,
      block,
      imageBytes,
      ranges: bmap.ranges,
      checksumType: bmap.checksumType,
      onProgress: progressTo(reporter, options.live === true),
    });
    let verify: { bytes: number; seconds: number } | undefined;
    if (options.verify !== false) {
      verify = await verifyRanges({
        target: device,
        block,
        targetBytes: block ? target.bytes : Math.max(target.bytes, imageBytes),
        ranges: written.ranges,
        checksumType: bmap.checksumType,
        onProgress: progressTo(reporter, options.live === true),
      });
    }
    return {
      image,
      device,
      bmap: file,
      bytesWritten: written.bytes,
      imageBytes,
      mappedRanges: bmap.ranges.length,
      seconds: Number(process.hrtime.bigint() - begun) / 1e9,
      verified: verify !== undefined,
      writeMiBps: Number(mibPerSecond(written.bytes, written.seconds).toFixed(1)),
      verifyMiBps: verify ? Number(mibPerSecond(verify.bytes, verify.seconds).toFixed(1)) : null,
      writeSeconds: written.seconds,
      verifySeconds: verify?.seconds ?? null,
    };
  } finally {
    reporter.done();
  }
}
