/** Block maps: bmaptool's own output is read exactly; a map that is wrong in any way is refused. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { openSync, closeSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { checkBmapMatches, parseBmap } from "../../src/flash/bmap.js";
import { StrataError } from "../../src/errors.js";
import { tempDir } from "../helpers.js";
import { readAt, sha256 } from "./fixtures.js";

const dir = tempDir("strata-bmap-");
after(() => rmSync(dir, { recursive: true, force: true }));

/** A bmap 2.0 as bmaptool writes it, with its file checksum (unless `checksum: false`). */
function bmapText(
  o: { size?: number; block?: number; ranges?: string[]; type?: string; checksum?: boolean } = {},
) {
  const size = o.size ?? 65536;
  const block = o.block ?? 4096;
  const ranges = o.ranges ?? [`<Range chksum="${"a".repeat(64)}"> 0-1 </Range>`];
  const zero = "0".repeat(o.type === "sha1" ? 40 : 64);
  const text = `<?xml version="1.0" ?>
<bmap version="2.0">
    <ImageSize> ${size} </ImageSize>
    <BlockSize> ${block} </BlockSize>
    <BlocksCount> ${Math.ceil(size / block)} </BlocksCount>
    <ChecksumType> ${o.type ?? "sha256"} </ChecksumType>
    <BmapFileChecksum> ${zero} </BmapFileChecksum>
    <BlockMap>
        ${ranges.join("\n        ")}
    </BlockMap>
</bmap>
`;
  if (o.checksum === false) return text.replace(/ *<BmapFileChecksum>.*\n/, "");
  const sum = createHash(o.type === "sha1" ? "sha1" : "sha256")
    .update(text)
    .digest("hex");
  return text.replace(zero, sum);
}

const refusal = (text: string, pattern: RegExp) =>
  assert.throws(
    () => parseBmap(text, "x.bmap"),
    (e: unknown) =>
      e instanceof StrataError && e.code === "E_FLASH_BMAP" && pattern.test(e.message),
  );

describe("parseBmap", () => {
  it("reads bmaptool's map of a sparse file: ranges in bytes, each with the sha256 of its bytes", () => {
    const image = join(dir, "sparse.img");
    execFileSync("truncate", ["-s", "10M", image]);
    const fd = openSync(image, "r+");
    writeSync(fd, Buffer.alloc(5000, 1), 0, 5000, 4096); // blocks 1-2
    writeSync(fd, Buffer.alloc(100, 2), 0, 100, 5 * 1048576); // block 1280
    closeSync(fd);
    execFileSync("bmaptool", ["-q", "create", "-o", `${image}.bmap`, image]);
    const bmap = parseBmap(readFileSync(`${image}.bmap`, "utf8"), `${image}.bmap`);
    assert.equal(bmap.imageSize, 10 * 1048576);
    assert.equal(bmap.blockSize, 4096);
    assert.equal(bmap.checksumType, "sha256");
    assert.deepEqual(
      bmap.ranges.map((r) => [r.offset, r.length]),
      [
        [4096, 8192],
        [5 * 1048576, 4096],
      ],
    );
    for (const r of bmap.ranges) assert.equal(r.chksum, sha256(readAt(image, r.offset, r.length)));
    assert.equal(bmap.mappedBytes, 12288);
  });

  it("ends the last range at ImageSize when the image ends inside a block", () => {
    const bmap = parseBmap(
      bmapText({ size: 10000, ranges: ['<Range chksum="' + "b".repeat(64) + '"> 1-2 </Range>'] }),
      "x",
    );
    assert.deepEqual(bmap.ranges, [{ offset: 4096, length: 10000 - 4096, chksum: "b".repeat(64) }]);
  });

  it("reads a 1.3 map's sha1 attributes and a map without checksums", () => {
    const old = `<?xml version="1.0" ?>
<bmap version="1.3">
    <ImageSize> 8192 </ImageSize>
    <BlockSize> 4096 </BlockSize>
    <BlocksCount> 2 </BlocksCount>
    <MappedBlocksCount> 1 </MappedBlocksCount>
    <BlockMap>
        <Range sha1="${"c".repeat(40)}"> 1 </Range>
    </BlockMap>
</bmap>
`;
    const bmap = parseBmap(old, "old.bmap");
    assert.equal(bmap.checksumType, "sha1");
    assert.equal(bmap.ranges[0]?.chksum, "c".repeat(40));
    const bare = parseBmap(bmapText({ ranges: ["<Range> 3 </Range>"] }), "x");
    assert.deepEqual(bare.ranges, [{ offset: 12288, length: 4096 }]);
  });

  it("refuses ranges outside the image, overlapping or backwards", () => {
    refusal(
      bmapText({ ranges: ["<Range> 15-16 </Range>"] }),
      /range 15-16 is outside the image's 16 blocks/,
    );
    refusal(bmapText({ ranges: ["<Range> 0-4 </Range>", "<Range> 4 </Range>"] }), /overlaps/);
    refusal(bmapText({ ranges: ["<Range> 5-3 </Range>"] }), /ends before it starts/);
    refusal(bmapText({ ranges: ["<Range> x </Range>"] }), /not N or N-M/);
  });

  it("refuses other checksum types, malformed checksums and bad sizes", () => {
    refusal(bmapText({ type: "md5" }), /checksum type md5/);
    refusal(bmapText({ ranges: ['<Range chksum="abc"> 1 </Range>'] }), /is not a sha256/);
    refusal(bmapText({ block: 1000 }), /BlockSize 1000/);
    refusal(bmapText().replace("<ImageSize> 65536 </ImageSize>", ""), /no <ImageSize>/);
    refusal(bmapText({ checksum: false }).replace("65536", "-5"), /not a whole number/);
  });

  it("refuses an edited or truncated map, and another version", () => {
    const edited = bmapText().replace("0-1", "0-2");
    refusal(edited, /BmapFileChecksum does not match/);
    refusal(bmapText().slice(0, -10), /truncated/);
    refusal(bmapText().replace('version="2.0"', 'version="3.0"'), /unsupported version 3.0/);
    refusal(
      bmapText({ checksum: false }).replace(
        "<BlockMap>",
        "<MappedBlocksCount> 9 </MappedBlocksCount>\n<BlockMap>",
      ),
      /MappedBlocksCount 9 but the ranges hold 2/,
    );
  });
});

describe("checkBmapMatches", () => {
  it("refuses a map of an image of another size with E_FLASH_BMAP_MISMATCH", () => {
    const bmap = parseBmap(bmapText(), "x.bmap");
    checkBmapMatches(bmap, 65536, "x.img", "x.bmap");
    assert.throws(
      () => checkBmapMatches(bmap, 65537, "x.img", "x.bmap"),
      (e: unknown) =>
        e instanceof StrataError &&
        e.code === "E_FLASH_BMAP_MISMATCH" &&
        /x.bmap is for an image of 65536 bytes, but x.img has 65537/.test(e.message),
    );
  });
});
