/**
 * Block maps (`.bmap`, bmaptool's format 1.x and 2.0): which blocks of a sparse image hold
 * data, with a checksum per range. `strata flash` writes only those ranges and verifies them.
 *
 * The format is a handful of flat elements, so it is read with regular expressions rather than
 * an XML parser; anything unexpected is an error, never a guess: a wrong map would write the
 * wrong blocks to a card.
 */
import { createHash } from "node:crypto";
import { StrataError } from "../errors.js";

export type ChecksumType = "sha256" | "sha1";

/** A range of mapped bytes of the image, the same on the target. */
export interface ByteRange {
  offset: number;
  length: number;
  /** The digest of the image's bytes in the range (hex), when the bmap has one. */
  chksum?: string;
}

export interface Bmap {
  version: string;
  imageSize: number;
  blockSize: number;
  blocksCount: number;
  checksumType: ChecksumType;
  /** Sorted, non-overlapping, inside the image. */
  ranges: ByteRange[];
  /** Bytes the ranges cover. */
  mappedBytes: number;
}

const HEX_LENGTH: Record<ChecksumType, number> = { sha256: 64, sha1: 40 };

function invalid(source: string, problem: string): StrataError {
  return new StrataError("E_FLASH_BMAP", `${source}: not a usable block map: ${problem}`, {
    hint: "make it again with `bmaptool create -o IMAGE.bmap IMAGE`, or remove it (strata flash then maps the image itself)",
  });
}

/** The text of `<name>` (one element, trimmed), or undefined when absent. */
function element(xml: string, name: string, source: string): string | undefined {
  const all = [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, "g"))];
  if (all.length > 1) throw invalid(source, `more than one <${name}>`);
  return all[0]?.[1]?.trim();
}

function count(xml: string, name: string, source: string, required: boolean): number | undefined {
  const text = element(xml, name, source);
  if (text === undefined) {
    if (required) throw invalid(source, `no <${name}>`);
    return undefined;
  }
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)))
    throw invalid(source, `<${name}> ${JSON.stringify(text)} is not a whole number`);
  return Number(text);
}

/**
 * The bmap's own checksum (2.0: BmapFileChecksum; 1.3-1.4: BmapFileSHA1) is over the file with
 * that value replaced by zeros: a hand-edited or truncated map fails here, before any write.
 */
function checkFileChecksum(xml: string, type: ChecksumType, source: string): void {
  for (const [name, algorithm] of [
    ["BmapFileChecksum", type],
    ["BmapFileSHA1", "sha1"],
  ] as const) {
    const value = element(xml, name, source);
    if (value === undefined) continue;
    if (!/^[0-9a-fA-F]+$/.test(value)) throw invalid(source, `${name} is not hexadecimal`);
    const zeroed = xml.replace(
      new RegExp(`(<${name}>\\s*)${value}(\\s*</${name}>)`),
      `$1${"0".repeat(value.length)}$2`,
    );
    const actual = createHash(algorithm).update(zeroed).digest("hex");
    if (actual !== value.toLowerCase())
      throw invalid(source, `its ${name} does not match its contents (edited or damaged)`);
  }
}

/** Parses and checks a bmap; `source` names it in errors. */
export function parseBmap(xml: string, source: string): Bmap {
  const root = /<bmap\s+version\s*=\s*"([^"]*)"\s*>/.exec(xml);
  if (!root) throw invalid(source, 'no <bmap version="…"> element');
  const version = root[1] as string;
  const major = /^(\d+)\.\d+$/.exec(version)?.[1];
  if (major !== "1" && major !== "2") throw invalid(source, `unsupported version ${version}`);
  if (!/<\/bmap>\s*$/.test(xml)) throw invalid(source, "it does not end with </bmap> (truncated?)");

  const imageSize = count(xml, "ImageSize", source, true) as number;
  const blockSize = count(xml, "BlockSize", source, true) as number;
  if (blockSize === 0 || blockSize % 512 !== 0)
    throw invalid(source, `BlockSize ${blockSize} is not a multiple of 512`);
  const blocksCount = Math.ceil(imageSize / blockSize);
  const declaredBlocks = count(xml, "BlocksCount", source, false);
  if (declaredBlocks !== undefined && declaredBlocks !== blocksCount)
    throw invalid(
      source,
      `BlocksCount ${declaredBlocks} but ImageSize / BlockSize is ${blocksCount}`,
    );

  // 1.x maps before 1.3 have no checksums; 1.3 and 1.4 have sha1 ones without a ChecksumType.
  const typeText = element(xml, "ChecksumType", source) ?? "sha1";
  if (typeText !== "sha256" && typeText !== "sha1")
    throw invalid(source, `checksum type ${typeText} (strata reads sha256 and sha1)`);
  const checksumType: ChecksumType = typeText;
  checkFileChecksum(xml, checksumType, source);

  const map = /<BlockMap>([\s\S]*)<\/BlockMap>/.exec(xml);
  if (!map) throw invalid(source, "no <BlockMap>");
  const body = (map[1] as string).replace(/<!--[\s\S]*?-->/g, "");
  const ranges: ByteRange[] = [];
  let previousLast = -1;
  let mappedBlocks = 0;
  const rangeRe = /<Range((?:\s+\w+\s*=\s*"[^"]*")*)\s*>([^<]*)<\/Range>/g;
  for (const m of body.matchAll(rangeRe)) {
    const text = (m[2] as string).trim();
    const numbers = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(text);
    if (!numbers) throw invalid(source, `range ${JSON.stringify(text)} is not N or N-M`);
    const first = Number(numbers[1]);
    const last = Number(numbers[2] ?? numbers[1]);
    if (last < first) throw invalid(source, `range ${text} ends before it starts`);
    if (last >= blocksCount)
      throw invalid(source, `range ${text} is outside the image's ${blocksCount} blocks`);
    if (first <= previousLast) throw invalid(source, `range ${text} overlaps or is out of order`);
    previousLast = last;
    const attributes = m[1] as string;
    const sum = /\b(?:chksum|sha1)\s*=\s*"([^"]*)"/.exec(attributes)?.[1]?.toLowerCase();
    if (sum !== undefined && !new RegExp(`^[0-9a-f]{${HEX_LENGTH[checksumType]}}$`).test(sum))
      throw invalid(source, `range ${text}: ${JSON.stringify(sum)} is not a ${checksumType}`);
    const offset = first * blockSize;
    // The last block may be partial: the image ends at ImageSize, not at a block boundary.
    const end = Math.min((last + 1) * blockSize, imageSize);
    ranges.push({ offset, length: end - offset, ...(sum !== undefined ? { chksum: sum } : {}) });
    mappedBlocks += last - first + 1;
  }
  if (body.replace(rangeRe, "").trim() !== "")
    throw invalid(source, "<BlockMap> holds something other than <Range> elements");
  const declaredMapped = count(xml, "MappedBlocksCount", source, false);
  if (declaredMapped !== undefined && declaredMapped !== mappedBlocks)
    throw invalid(
      source,
      `MappedBlocksCount ${declaredMapped} but the ranges hold ${mappedBlocks}`,
    );
  const mappedBytes = ranges.reduce((n, r) => n + r.length, 0);
  return { version, imageSize, blockSize, blocksCount, checksumType, ranges, mappedBytes };
}

/** A bmap made for another image (or an image changed since) is refused before any write. */
export function checkBmapMatches(bmap: Bmap, imageBytes: number, image: string, source: string) {
  if (bmap.imageSize !== imageBytes) {
    throw new StrataError(
      "E_FLASH_BMAP_MISMATCH",
      `${source} is for an image of ${bmap.imageSize} bytes, but ${image} has ${imageBytes}`,
      {
        hint: "the image changed since its bmap was made: make it again (`bmaptool create -o IMAGE.bmap IMAGE`) or remove it",
      },
    );
  }
}
