/**
 * Writes an image's mapped ranges to a target and reads them back. Only the ranges are
 * touched: what the target held in the image's unmapped blocks stays there (as with bmaptool),
 * which is harmless because nothing in the image reads them.
 *
 * Writing: positional writes of 4 MiB chunks, the next chunk read from the image while the
 * current one is written, one fsync at the end. A block device is opened O_EXCL, which the
 * kernel refuses while it is mounted or claimed: a last guard after target.ts's checks.
 *
 * Verifying: a block device is read back with O_DIRECT, so the bytes come from the device and
 * not from the page cache the write just filled. O_DIRECT needs aligned memory, which a Node
 * Buffer is not (malloc's header shifts it); a WebAssembly memory is page-aligned, so the
 * read buffers are views of one.
 */
import { createHash, type Hash } from "node:crypto";
import { constants } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { StrataError } from "../errors.js";
import { run } from "../host/run.js";
import type { ByteRange, ChecksumType } from "./bmap.js";

export const CHUNK = 4 * 1048576;
/** O_DIRECT offsets and lengths: a multiple of any logical block size (512 or 4096). */
const ALIGN = 4096;

export interface FlashProgress {
  phase: "write" | "verify";
  bytes: number;
  total: number;
  seconds: number;
}

/** A written range and the digest its bytes must have on the target. */
export interface WrittenRange {
  offset: number;
  length: number;
  digest: string;
}

export interface WriteResult {
  bytes: number;
  seconds: number;
  ranges: WrittenRange[];
}

/** One read (and for writes, one write) of a pipeline. */
interface Chunk {
  range: number;
  /** Where it is read. */
  position: number;
  length: number;
  /** The part of it that belongs to the range (aligned reads read more). */
  skip: number;
  take: number;
}

const elapsed = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;
const span = (r: { offset: number; length: number }) =>
  `bytes ${r.offset}-${r.offset + r.length - 1}`;

/** Two page-aligned buffers of CHUNK bytes (see the module's comment). */
function alignedBuffers(): [Buffer, Buffer] {
  const memory = new WebAssembly.Memory({ initial: (2 * CHUNK) / 65536 });
  return [Buffer.from(memory.buffer, 0, CHUNK), Buffer.from(memory.buffer, CHUNK, CHUNK)];
}

/** Splits ranges into chunks; with `align`, reads start and end on `align` (within `limit`). */
function chunksOf(ranges: readonly ByteRange[], align = 1, limit = Infinity): Chunk[] {
  const chunks: Chunk[] = [];
  ranges.forEach((r, range) => {
    const end = r.offset + r.length;
    const start = Math.floor(r.offset / align) * align;
    const alignedEnd = Math.min(Math.ceil(end / align) * align, limit);
    for (let position = start; position < alignedEnd; position += CHUNK) {
      const length = Math.min(CHUNK, alignedEnd - position);
      const skip = Math.max(0, r.offset - position);
      const take = Math.min(position + length, end) - (position + skip);
      chunks.push({ range, position, length, skip, take });
    }
  });
  return chunks;
}

async function readFully(fh: FileHandle, buf: Buffer, length: number, position: number) {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/**
 * Runs `consume` over each chunk in order while the next chunk is being read into the other
 * buffer. A read still in flight when `consume` fails is awaited before returning, so the
 * caller may close the file.
 */
async function pipeline(
  chunks: readonly Chunk[],
  buffers: [Buffer, Buffer],
  read: (c: Chunk, buf: Buffer) => Promise<number>,
  consume: (c: Chunk, data: Buffer) => Promise<void>,
): Promise<void> {
  const start = (i: number) => {
    const c = chunks[i] as Chunk;
    const buf = buffers[i % 2] as Buffer;
    return read(c, buf).then((n) => ({ c, data: buf.subarray(0, n) }));
  };
  let next = chunks.length > 0 ? start(0) : undefined;
  try {
    for (let i = 0; i < chunks.length; i++) {
      const { c, data } = await (next as ReturnType<typeof start>);
      next = i + 1 < chunks.length ? start(i + 1) : undefined;
      await consume(c, data);
    }
  } finally {
    await next?.catch(() => undefined);
  }
}

function ioError(code: "E_FLASH_WRITE" | "E_FLASH_VERIFY", what: string, e: unknown) {
  const err = e as NodeJS.ErrnoException;
  const hint =
    err.code === "EACCES" || err.code === "EPERM"
      ? "run strata flash as root"
      : err.code === "EROFS"
        ? "the device is read-only: a card's write-protect switch?"
        : err.code === "EBUSY"
          ? "something holds the device (mounted, in use): release it and try again"
          : "check the device (dmesg); a failing card or a loose cable shows here";
  return new StrataError(code, `${what}: ${err.message}`, { hint, cause: e });
}

/** Opens the target for writing: a block device exclusively, a regular file created if new. */
async function openTarget(target: string, block: boolean, imageBytes: number) {
  const flags = block
    ? constants.O_WRONLY | constants.O_EXCL
    : constants.O_WRONLY | constants.O_CREAT;
  let fh: FileHandle;
  try {
    fh = await open(target, flags, 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EBUSY") {
      throw new StrataError("E_FLASH_BUSY", `${target} is in use (the kernel refused O_EXCL)`, {
        hint: "unmount it and stop what uses it (a mount, a loop or dm device, swap)",
        cause: e,
      });
    }
    throw ioError("E_FLASH_WRITE", `cannot open ${target} for writing`, e);
  }
  // A file gets the image's length, so it is a whole copy even where the image ends in a hole.
  if (!block && (await fh.stat()).size < imageBytes) await fh.truncate(imageBytes);
  return fh;
}

/** Writes `ranges` of `image` to `target`; returns the digest of each range as written. */
export async function writeRanges(options: {
  image: string;
  target: string;
  block: boolean;
  imageBytes: number;
  ranges: readonly ByteRange[];
  checksumType: ChecksumType;
  onProgress?: (p: FlashProgress) => void;
}): Promise<WriteResult> {
  const { image, target, ranges } = options;
  const total = ranges.reduce((n, r) => n + r.length, 0);
  const begun = process.hrtime.bigint();
  const source = await open(image, "r");
  const written: WrittenRange[] = [];
  try {
    const out = await openTarget(target, options.block, options.imageBytes);
    try {
      let hash: Hash | undefined;
      let bytes = 0;
      options.onProgress?.({ phase: "write", bytes, total, seconds: 0 });
      await pipeline(
        chunksOf(ranges),
        [Buffer.allocUnsafeSlow(CHUNK), Buffer.allocUnsafeSlow(CHUNK)],
        (c, buf) => readFully(source, buf, c.length, c.position),
        async (c, data) => {
          const r = ranges[c.range] as ByteRange;
          if (data.length < c.length) {
            throw new StrataError("E_FLASH_IMAGE", `${image} ends inside its mapped ${span(r)}`, {
              hint: "the image is truncated or changed since its bmap was made",
            });
          }
          hash ??= createHash(options.checksumType);
          hash.update(data);
          for (let done = 0; done < data.length;) {
            let n: number;
            try {
              n = (await out.write(data, done, data.length - done, c.position + done)).bytesWritten;
            } catch (e) {
              throw ioError("E_FLASH_WRITE", `writing ${span(r)} of ${target}`, e);
            }
            done += n;
          }
          bytes += data.length;
          options.onProgress?.({ phase: "write", bytes, total, seconds: elapsed(begun) });
          if (c.position + c.length < r.offset + r.length) return;
          const digest = hash.digest("hex");
          hash = undefined;
          if (r.chksum !== undefined && r.chksum !== digest) {
            throw new StrataError(
              "E_FLASH_BMAP_MISMATCH",
              `${image}'s ${span(r)} do not match its bmap's ${options.checksumType} (${target} is partly written)`,
              {
                hint: "the image changed since its bmap was made: make the bmap again, then flash again",
              },
            );
          }
          written.push({ offset: r.offset, length: r.length, digest });
        },
      );
      try {
        await out.sync();
      } catch (e) {
        throw ioError("E_FLASH_WRITE", `flushing ${target}`, e);
      }
      return { bytes, seconds: elapsed(begun), ranges: written };
    } finally {
      await out.close();
    }
  } finally {
    await source.close();
  }
}

/**
 * Opens the target for reading back what the device holds: O_DIRECT on a block device; a
 * device that refuses O_DIRECT has its page cache dropped instead (blockdev --flushbufs).
 */
async function openForVerify(target: string, block: boolean): Promise<[FileHandle, boolean]> {
  try {
    if (block) {
      try {
        return [await open(target, constants.O_RDONLY | constants.O_DIRECT), true];
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EINVAL") throw e;
        await run("blockdev", ["--flushbufs", target]);
      }
    }
    return [await open(target, "r"), false];
  } catch (e) {
    if (e instanceof StrataError) throw e;
    throw ioError("E_FLASH_VERIFY", `cannot open ${target} to verify it`, e);
  }
}

/** Reads `ranges` back from `target` and compares each one's digest; E_FLASH_VERIFY names a bad one. */
export async function verifyRanges(options: {
  target: string;
  block: boolean;
  /** The target's size: aligned reads stop there. */
  targetBytes: number;
  ranges: readonly WrittenRange[];
  checksumType: ChecksumType;
  onProgress?: (p: FlashProgress) => void;
}): Promise<{ bytes: number; seconds: number }> {
  const { target, ranges } = options;
  const total = ranges.reduce((n, r) => n + r.length, 0);
  const begun = process.hrtime.bigint();
  const [fh, direct] = await openForVerify(target, options.block);
  try {
    let hash: Hash | undefined;
    let bytes = 0;
    let compared = 0;
    options.onProgress?.({ phase: "verify", bytes, total, seconds: 0 });
    await pipeline(
      chunksOf(ranges, direct ? ALIGN : 1, direct ? options.targetBytes : Infinity),
      direct ? alignedBuffers() : [Buffer.allocUnsafeSlow(CHUNK), Buffer.allocUnsafeSlow(CHUNK)],
      async (c, buf) => {
        try {
          return await readFully(fh, buf, c.length, c.position);
        } catch (e) {
          throw ioError(
            "E_FLASH_VERIFY",
            `reading ${span(ranges[c.range] as WrittenRange)} of ${target}`,
            e,
          );
        }
      },
      async (c, data) => {
        const r = ranges[c.range] as WrittenRange;
        hash ??= createHash(options.checksumType);
        hash.update(data.subarray(c.skip, c.skip + c.take));
        bytes += Math.max(0, Math.min(c.take, data.length - c.skip));
        options.onProgress?.({ phase: "verify", bytes, total, seconds: elapsed(begun) });
        if (c.position + c.length < r.offset + r.length) return;
        const digest = hash.digest("hex");
        hash = undefined;
        compared++;
        if (digest !== r.digest) {
          throw new StrataError(
            "E_FLASH_VERIFY",
            `${target} does not hold what was written at ${span(r)} (${options.checksumType} ${digest.slice(0, 16)}…, expected ${r.digest.slice(0, 16)}…)`,
            {
              hint: "the card or disk did not keep the data (failing, fake capacity, or written by something else meanwhile): try again, then another card",
            },
          );
        }
      },
    );
    // Every range must have been read to its end (a target shorter than a range is not).
    if (compared !== ranges.length) {
      throw new StrataError("E_FLASH_VERIFY", `${target} ends before the last written range`, {
        hint: "the device got smaller while it was written: it was replaced or is failing",
      });
    }
    return { bytes, seconds: elapsed(begun) };
  } finally {
    await fh.close();
  }
}
