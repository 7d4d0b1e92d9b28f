/**
 * The build report (`report.json`, format `strata-report/1`): what a build did, layer by layer
 * and output by output, with timings, sizes and package changes. It is a file others read
 * (CI dashboards, the HTML report), so its shape is pinned here with zod and versioned by
 * `format`; a change that breaks readers needs a new format string.
 * Times are seconds; `startedAt` of a layer or output is its offset from the build's start.
 */
import { z } from "zod";

const seconds = z.number().nonnegative();
const bytes = z.number().int().nonnegative();

export const ReportPackage = z.strictObject({ name: z.string(), version: z.string() });
export const ReportPackageChange = z.strictObject({
  name: z.string(),
  from: z.string(),
  to: z.string(),
});

export const ReportStep = z.strictObject({ label: z.string(), seconds });

export const LayerReport = z.strictObject({
  name: z.string().min(1),
  /** The layer below, or null for a bootstrap layer. */
  parent: z.string().min(1).nullable(),
  /** The layer's cache key (sha256 of its input manifest). */
  key: z.string().min(1),
  status: z.enum(["cached", "built"]),
  /** Why it was reused or rebuilt, e.g. "cache hit" or "steps[1] changed". */
  reason: z.string(),
  /** "recipe", or the output that added the layer (e.g. "disk" for a disk's boot layer). */
  origin: z.string().min(1),
  startedAt: seconds,
  seconds,
  /** Time per step; empty for a cached layer. */
  steps: z.array(ReportStep),
  /** Size of the layer's squashfs module. */
  bytes,
  packages: z.strictObject({
    added: z.array(ReportPackage),
    removed: z.array(ReportPackage),
    changed: z.array(ReportPackageChange),
  }),
});

export const OutputReport = z.strictObject({
  type: z.string().min(1),
  name: z.string().min(1),
  /** The top layer of the stack the output was made from. */
  layer: z.string().min(1),
  path: z.string(),
  bytes,
  startedAt: seconds,
  seconds,
});

export const BuildReport = z.strictObject({
  format: z.literal("strata-report/1"),
  recipe: z.string().min(1),
  distro: z.strictObject({ suite: z.string().min(1), arch: z.string().min(1) }),
  /** Wall-clock start of the build, ISO 8601 (UTC). */
  startTime: z.iso.datetime({ offset: true }),
  seconds,
  strataVersion: z.string().min(1),
  layers: z.array(LayerReport),
  outputs: z.array(OutputReport),
});

export type ReportPackage = z.infer<typeof ReportPackage>;
export type ReportPackageChange = z.infer<typeof ReportPackageChange>;
export type ReportStep = z.infer<typeof ReportStep>;
export type LayerReport = z.infer<typeof LayerReport>;
export type OutputReport = z.infer<typeof OutputReport>;
export type BuildReport = z.infer<typeof BuildReport>;

export const REPORT_FORMAT = "strata-report/1" as const;
