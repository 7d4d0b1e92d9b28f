/**
 * The signed files of an update repository, written by `strata publish` and read by the device
 * agent (assets/update/strata-update, POSIX sh):
 *
 *   versions/<n>/manifest.json (+ .sig)   a release: what version n stacks and boots
 *   channels/<name>.json (+ .sig)         which version a channel points at, with a serial
 *                                         that only grows and an expiry
 *
 * The agent reads them with sed after checking their signature, so the layout is fixed: one
 * key per line, each layer and boot file an object on one line (`serializeManifest`). The
 * store of a disk image holds the same manifest for its factory version.
 */
import { z } from "zod";
import { sha256 } from "../cache/canonical.js";

export const RELEASE_FORMAT = "strata-release/1";
export const CHANNEL_FORMAT = "strata-channel/1";

const hexDigest = z.string().regex(/^[0-9a-f]{64}$/, "a hex sha256");
const bytes = z.number().int().nonnegative();
const word = z.string().regex(/^[A-Za-z0-9._+~-]+$/);

export const ReleaseFile = z.strictObject({ digest: hexDigest, bytes });
export const ReleaseLayer = z.strictObject({ name: word, digest: hexDigest, bytes });

export const ReleaseManifest = z.strictObject({
  format: z.literal(RELEASE_FORMAT),
  recipe: word,
  arch: word,
  version: z.number().int().positive(),
  root: z.enum(["immutable", "persistent"]),
  kernel: word,
  /** The whole kernel command line of this version (with its strata.version=) */
  cmdline: z.string().regex(/^[^\x00-\x1f\x7f\\]*$/),
  vmlinuz: ReleaseFile,
  initrd: ReleaseFile,
  /** Bottom first */
  layers: z.array(ReleaseLayer).min(1),
});
export type ReleaseManifest = z.output<typeof ReleaseManifest>;

export const Channel = z.strictObject({
  format: z.literal(CHANNEL_FORMAT),
  channel: word,
  recipe: word,
  arch: word,
  /** Grows with every publish; a device refuses a serial not above the last it applied */
  serial: z.number().int().positive(),
  /** Unix seconds after which a device refuses the channel (a frozen mirror) */
  expires: z.number().int().positive(),
  version: z.number().int().positive(),
  /** sha256 of versions/<version>/manifest.json */
  manifest: hexDigest,
});
export type Channel = z.output<typeof Channel>;

const j = (v: unknown) => JSON.stringify(v);
const fileLine = (f: { digest: string; bytes: number }) =>
  `{"digest": ${j(f.digest)}, "bytes": ${f.bytes}}`;

/** The manifest in its fixed layout (see the header); valid JSON. */
export function serializeManifest(m: ReleaseManifest): string {
  const checked = ReleaseManifest.parse(m);
  const layers = checked.layers.map(
    (l, i, all) =>
      `    {"name": ${j(l.name)}, "digest": ${j(l.digest)}, "bytes": ${l.bytes}}${i < all.length - 1 ? "," : ""}`,
  );
  return [
    "{",
    `  "format": ${j(checked.format)},`,
    `  "recipe": ${j(checked.recipe)},`,
    `  "arch": ${j(checked.arch)},`,
    `  "version": ${checked.version},`,
    `  "root": ${j(checked.root)},`,
    `  "kernel": ${j(checked.kernel)},`,
    `  "cmdline": ${j(checked.cmdline)},`,
    `  "vmlinuz": ${fileLine(checked.vmlinuz)},`,
    `  "initrd": ${fileLine(checked.initrd)},`,
    `  "layers": [`,
    ...layers,
    "  ]",
    "}",
    "",
  ].join("\n");
}

/** The channel in its fixed layout: one key per line; valid JSON. */
export function serializeChannel(c: Channel): string {
  const checked = Channel.parse(c);
  const keys = Object.keys(Channel.shape) as (keyof Channel)[];
  const lines = keys.map((k, i) => `  ${j(k)}: ${j(checked[k])}${i < keys.length - 1 ? "," : ""}`);
  return ["{", ...lines, "}", ""].join("\n");
}

export function parseManifest(text: string): ReleaseManifest {
  return ReleaseManifest.parse(JSON.parse(text));
}

export function parseChannel(text: string): Channel {
  return Channel.parse(JSON.parse(text));
}

/** The command line without its version: two builds of the same inputs boot the same. */
export const cmdlineWithoutVersion = (cmdline: string): string =>
  cmdline
    .split(" ")
    .filter((w) => !w.startsWith("strata.version="))
    .join(" ");

/**
 * What a release boots, whatever its number: its layers, kernel, initramfs and command line.
 * Publishing a build whose identity is the channel's current version adds nothing.
 */
export function releaseIdentity(m: Omit<ReleaseManifest, "version" | "format">): string {
  return sha256(
    [
      m.recipe,
      m.arch,
      m.root,
      m.vmlinuz.digest,
      m.initrd.digest,
      cmdlineWithoutVersion(m.cmdline),
      ...m.layers.map((l) => l.digest),
    ].join("\n"),
  );
}
