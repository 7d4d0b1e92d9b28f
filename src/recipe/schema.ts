/**
 * The recipe schema, written once. Each step's and each output's part lives with its code
 * (src/steps/<kind>.ts, src/outputs/<type>/schema.ts) and is assembled here. The TypeScript
 * types below are inferred from it, the JSON Schema for editors (`schema/recipe.schema.json`)
 * is generated from it by `scripts/gen-schema.ts`, and a test fails when the committed copy is
 * stale.
 */
import { z } from "zod";
import { DirOutput } from "../outputs/dir/schema.js";
import { DiskOutput } from "../outputs/disk/schema.js";
import { IsoOutput } from "../outputs/iso/schema.js";
import { LiveOutput } from "../outputs/live/schema.js";
import { NetbootOutput } from "../outputs/netboot/schema.js";
import { OciOutput } from "../outputs/oci/schema.js";
import { TarOutput } from "../outputs/tar/schema.js";
import { CopyStep } from "../steps/copy.js";
import { packageName } from "../steps/fields.js";
import { Group } from "../steps/groups.js";
import { STEPS, type StepKind } from "../steps/index.js";
import { RunStep } from "../steps/run.js";
import { ServicesStep } from "../steps/services.js";
import { User } from "../steps/users.js";
import { WriteStep } from "../steps/write.js";
import { nameField as name, sizeField as size, urlField } from "./fields.js";

export { NAME_PATTERN } from "./fields.js";

/** The step schemas live with their steps (src/steps/); re-exported for the many importers. */
export { CopyStep, Group, RunStep, ServicesStep, User, WriteStep };
export type { StepKind };

/** Debian suites strata knows how to bootstrap (codenames and their moving aliases). */
export const SUITES = [
  "bullseye",
  "bookworm",
  "trixie",
  "forky",
  "sid",
  "oldstable",
  "stable",
  "testing",
  "unstable",
] as const;
export const ARCHES = ["amd64", "arm64", "armhf"] as const;
export const VARIANTS = [
  "extract",
  "custom",
  "essential",
  "apt",
  "required",
  "minbase",
  "buildd",
  "important",
  "debootstrap",
  "standard",
] as const;

export const Distro = z
  .strictObject({
    suite: z.enum(SUITES).default("trixie").describe("Debian suite to bootstrap"),
    arch: z.enum(ARCHES).default("amd64").describe("Target architecture"),
    mirror: urlField
      .optional()
      .describe(
        "Debian mirror (http or https); default: the host's own apt configuration (or --mirror)",
      ),
    security: z
      .union([urlField, z.literal(false)])
      .optional()
      .describe("Security mirror, or false to leave SUITE-security out; default: from the host"),
    updates: z.boolean().default(true).describe("Include SUITE-updates"),
    components: z.array(z.string().regex(/^[a-z-]+$/)).default(["main"]),
    recommends: z.boolean().default(false).describe("Install Recommends (apt's default is yes)"),
  })
  .describe("What to bootstrap: Debian suite, architecture, mirror");

/** The kinds of step, each defined by one file in src/steps/ and listed in its registry. */
export const STEP_KINDS = Object.keys(STEPS) as readonly StepKind[];

type StepShape = { [K in StepKind]: z.ZodOptional<(typeof STEPS)[K]["schema"]> };
const stepShape = Object.fromEntries(
  STEP_KINDS.map((kind) => [kind, STEPS[kind].schema.optional()]),
) as StepShape;

/** A step is an object with exactly one key, its kind; the value's schema is the step's own. */
export const Step = z
  .strictObject(stepShape)
  .refine((s) => Object.keys(s).length === 1, {
    message: `a step has exactly one of: ${STEP_KINDS.join(", ")}`,
  })
  .describe("One step: an object with exactly one key");

export const DebianBootstrap = z
  .strictObject({
    variant: z.enum(VARIANTS).default("minbase").describe("mmdebstrap --variant"),
    packages: z.array(packageName).default([]).describe("mmdebstrap --include"),
  })
  .describe("A Debian root made by mmdebstrap from the recipe's `distro`");
export type DebianBootstrap = z.output<typeof DebianBootstrap>;

export const OciBootstrap = z
  .strictObject({
    oci: z
      .string()
      .min(1)
      .describe(
        "An OCI image: docker://HOST/NAME[:TAG|@sha256:...] from a registry, or the path (beside the recipe) of an OCI archive (.tar) or image layout directory",
      ),
  })
  .describe("A root unpacked from an OCI image's layers, whiteouts honoured");
export type OciBootstrap = z.output<typeof OciBootstrap>;

/** What starts a stack: mmdebstrap, or an OCI image (told apart by the `oci` key). */
export const Bootstrap = z.union([OciBootstrap, DebianBootstrap]);
export type Bootstrap = z.output<typeof Bootstrap>;

/** Whether a stack starts from an OCI image rather than mmdebstrap. */
export const isOciBootstrap = (b: Bootstrap | undefined): b is OciBootstrap =>
  b !== undefined && "oci" in b;

/** The packages a bootstrap names (an OCI image names none). */
export const bootstrapPackages = (b: Bootstrap | undefined): string[] =>
  b === undefined || isOciBootstrap(b) ? [] : b.packages;

export const Layer = z
  .strictObject({
    name,
    description: z.string().optional(),
    from: name.optional().describe("The layer this one sits on; default: the one listed before"),
    bootstrap: Bootstrap.optional().describe("Start a new stack: mmdebstrap, or an OCI image"),
    packages: z.array(packageName).optional().describe("Installed before the stages and steps"),
    remove: z.array(packageName).optional().describe("Purged after `packages`"),
    stages: z.array(name).optional().describe("Reusable fragments, run after packages"),
    steps: z.array(Step).optional().describe("Run in order, last"),
  })
  .describe("A layer: its difference from the layer below is kept as one squashfs module");

export { DiskOutput };
/** Every output type's own schema (src/outputs/<type>/schema.ts), told apart by `type`. */
export const Output = z.discriminatedUnion("type", [
  DirOutput,
  TarOutput,
  DiskOutput,
  NetbootOutput,
  LiveOutput,
  IsoOutput,
  OciOutput,
]);

/**
 * Longest a test may wait for anything: a day. (Node's timers hold at most 2^31-1 ms, about
 * 24.8 days; a longer one fires at once, so an unbounded timeout would fail every check.)
 */
export const MAX_TIMEOUT_SECONDS = 24 * 60 * 60;
const seconds = z
  .number()
  .positive("must be more than 0 seconds")
  .max(MAX_TIMEOUT_SECONDS, `at most ${MAX_TIMEOUT_SECONDS} seconds (24 h)`);

/** One check that `strata test` runs in the booted guest. */
export const TestCheck = z.strictObject({
  name: z.string().min(1).describe("Shown in the summary and the JUnit report"),
  run: z.string().min(1).describe("Shell command run in the guest, as the login user"),
  status: z.number().int().min(0).max(255).default(0).describe("Expected exit status"),
  output: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .describe("Regular expressions that the command's output must match"),
  not_output: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .describe("Regular expressions that the command's output must not match"),
  reboot: z.boolean().default(false).describe("Reboot the guest before this check"),
  timeout: seconds.default(120).describe("Seconds the command may take (at most 86400)"),
});
export const Tests = z
  .strictObject({
    output: z
      .string()
      .optional()
      .describe("Name of the disk output to boot; default: the first disk output"),
    login: z
      .strictObject({
        user: z.string().default("root"),
        password: z
          .string()
          .default("")
          .describe("Clear-text password typed at the serial console ('' if none is asked)"),
      })
      .prefault({}),
    boot_timeout: seconds
      .default(600)
      .describe("Seconds from QEMU's start to the login prompt (at most 86400)"),
    memory: size.default("1G").describe("Guest memory"),
    checks: z.array(TestCheck).min(1),
  })
  .describe("Checks that `strata test` runs in the booted image");

/**
 * One health check, in the form of a `tests:` check: run by the device's agent at each trial
 * boot of a new version (see `update`), as root; its patterns are grep -E's.
 */
export const HealthCheck = TestCheck.omit({ reboot: true }).extend({
  name: z.string().min(1).describe("Shown in the journal when the check fails"),
  run: z.string().min(1).describe("Shell command run on the device as root"),
});

/** Where a device built from this recipe gets its updates (`strata publish` writes them). */
export const Update = z
  .strictObject({
    url: urlField.describe("The update repository's URL (http or https; vars allowed)"),
    channel: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, "a channel name: letters, digits, . _ -")
      .max(64)
      .default("stable")
      .describe("The channel the device follows"),
    keyring: z
      .string()
      .min(1)
      .describe("OpenPGP public keyring beside the recipe (`strata key generate` writes one)"),
    timer: z
      .boolean()
      .default(false)
      .describe("Enable strata-update.timer: look for an update daily and apply it"),
    data: z
      .array(
        z
          .string()
          .regex(
            /^(\/[A-Za-z0-9_@+,:=-][A-Za-z0-9._@+,:=-]*)+$/,
            "an absolute directory inside the image, no part starting with a dot, e.g. /var/lib/app",
          )
          .refine(
            (p) => !/^\/(proc|sys|dev|run|tmp)(\/|$)/.test(p),
            "not a directory the system mounts at boot (/proc, /sys, /dev, /run, /tmp)",
          ),
      )
      .max(64)
      .default([])
      .describe(
        "Directories every version of a persistent root shares (a rollback keeps their content)",
      ),
  })
  .describe("Over-the-air updates: the image carries the agent, the keyring and this");

export const VarValue = z.union([z.string(), z.number(), z.boolean()]);

export const Recipe = z
  .strictObject({
    $schema: z.string().optional(),
    name,
    description: z.string().optional(),
    distro: Distro.prefault({}),
    vars: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), VarValue).default({}),
    layers: z.array(Layer).min(1, "a recipe needs at least one layer"),
    outputs: z.array(Output).default([]),
    tests: Tests.optional(),
    update: Update.optional(),
    health: z
      .array(HealthCheck)
      .optional()
      .describe("Checks a new version must pass at its trial boot, or the device falls back"),
  })
  .describe("A strata recipe: a stack of cached layers and what to make of it");

export type Recipe = z.output<typeof Recipe>;
export type RecipeInput = z.input<typeof Recipe>;
export type Distro = z.output<typeof Distro>;
export type Layer = z.output<typeof Layer>;
export type Step = z.output<typeof Step>;
export type Output = z.output<typeof Output>;
export type Tests = z.output<typeof Tests>;
export type TestCheck = z.output<typeof TestCheck>;
export type HealthCheck = z.output<typeof HealthCheck>;
export type Update = z.output<typeof Update>;
export type User = z.output<typeof User>;
export type Group = z.output<typeof Group>;
export type CopyStep = z.output<typeof CopyStep>;
export type WriteStep = z.output<typeof WriteStep>;
export type RunStep = z.output<typeof RunStep>;
export type ServicesStep = z.output<typeof ServicesStep>;
