/** The signed files' fixed layout: valid JSON, one key per line, what the sh agent parses. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CHANNEL_FORMAT,
  parseChannel,
  parseManifest,
  RELEASE_FORMAT,
  type ReleaseManifest,
  releaseIdentity,
  serializeChannel,
  serializeManifest,
} from "../../src/update/manifest.js";

const d = (c: string) => c.repeat(64);
const manifest: ReleaseManifest = {
  format: RELEASE_FORMAT,
  recipe: "kiosk",
  arch: "amd64",
  version: 3,
  root: "immutable",
  kernel: "6.12.1+deb13-amd64",
  cmdline: 'boot=strata strata.version=3 panic=10 quiet x="a b"',
  vmlinuz: { digest: d("a"), bytes: 10 },
  initrd: { digest: d("b"), bytes: 20 },
  layers: [
    { name: "base", digest: d("c"), bytes: 30 },
    { name: "app.update", digest: d("e"), bytes: 40 },
  ],
};

describe("release manifest", () => {
  it("round-trips, with each scalar key and each layer on a line of its own", () => {
    const text = serializeManifest(manifest);
    assert.deepEqual(parseManifest(text), manifest);
    assert.match(text, /^ {2}"version": 3,$/m);
    assert.match(text, /^ {2}"vmlinuz": \{"digest": "a{64}", "bytes": 10\},$/m);
    assert.match(text, /^ {4}\{"name": "base", "digest": "c{64}", "bytes": 30\},$/m);
    assert.match(text, /^ {4}\{"name": "app\.update", "digest": "e{64}", "bytes": 40\}$/m);
  });

  it("refuses what the agent could not parse safely", () => {
    assert.throws(() => serializeManifest({ ...manifest, cmdline: "a\nb" }));
    assert.throws(() => serializeManifest({ ...manifest, recipe: "a b" }));
    assert.throws(() => serializeManifest({ ...manifest, layers: [] }));
    assert.throws(() => parseManifest(JSON.stringify({ ...manifest, format: "strata-release/2" })));
  });

  it("a release's identity ignores its number, not its content", () => {
    const rest: Omit<typeof manifest, "format" | "version"> = { ...manifest };
    const id = releaseIdentity(rest);
    assert.equal(releaseIdentity({ ...rest, cmdline: rest.cmdline.replace("=3", "=9") }), id);
    assert.notEqual(releaseIdentity({ ...rest, cmdline: `${rest.cmdline} debug` }), id);
    assert.notEqual(releaseIdentity({ ...rest, layers: rest.layers.slice(0, 1) }), id);
    assert.notEqual(releaseIdentity({ ...rest, initrd: { digest: d("f"), bytes: 20 } }), id);
  });
});

describe("channel", () => {
  it("round-trips with one key per line", () => {
    const c = {
      format: CHANNEL_FORMAT,
      channel: "stable",
      recipe: "kiosk",
      arch: "amd64",
      serial: 7,
      expires: 1800000000,
      version: 3,
      manifest: d("9"),
    } as const;
    const text = serializeChannel(c);
    assert.deepEqual(parseChannel(text), c);
    assert.equal(text.split("\n").length, 11);
    assert.match(text, /^ {2}"serial": 7,$/m);
    assert.match(text, /^ {2}"manifest": "9{64}"$/m);
  });
});
