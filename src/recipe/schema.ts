/**
 * The recipe schema, written once. The TypeScript types below are inferred from it, the JSON
 * Schema for editors (`schema/recipe.schema.json`) is generated from it by
 * `scripts/gen-schema.ts`, and a test fails when the committed copy is stale.
 */
import { z } from "zod";

/** Names of layers, outputs and stages: short, safe in file names and kernel command lines. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const name = z
  .string()
  .regex(NAME_PATTERN, "use lower-case letters, digits, '-' and '_' (at most 63 characters)");

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

const absolutePath = z
  .string()
  .min(1)
  .refine((p) => p.startsWith("/"), "must be an absolute path inside the image, e.g. /opt/app");
const fileMode = z
  .string()
  .regex(/^0?[0-7]{3,4}$/, "an octal mode in quotes, e.g. '0644' or '0755'")
  .optional();
const owner = z
  .string()
  .regex(/^[a-z_][a-z0-9_-]*(:[a-z_][a-z0-9_-]*)?$|^\d+(:\d+)?$/, "user[:group], e.g. root:root")
  .optional();
const packageName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?(=[A-Za-z0-9.+:~-]+)?$/, "a Debian package name")
  .describe("A Debian package, optionally pinned as name=version");

export const Distro = z
  .strictObject({
    suite: z.enum(SUITES).default("trixie").describe("Debian suite to bootstrap"),
    arch: z.enum(ARCHES).default("amd64").describe("Target architecture"),
    mirror: z
      .url()
      .optional()
      .describe("Debian mirror; default: the host's own apt configuration (or --mirror)"),
    security: z
      .union([z.url(), z.literal(false)])
      .optional()
      .describe("Security mirror, or false to leave SUITE-security out; default: from the host"),
    updates: z.boolean().default(true).describe("Include SUITE-updates"),
    components: z.array(z.string().regex(/^[a-z-]+$/)).default(["main"]),
    recommends: z.boolean().default(false).describe("Install Recommends (apt's default is yes)"),
  })
  .describe("What to bootstrap: Debian suite, architecture, mirror");

export const CopyStep = z.strictObject({
  from: z.string().min(1).describe("File or directory, relative to the recipe's directory"),
  to: absolutePath.describe("Destination in the image"),
  mode: fileMode,
  owner,
});
export const WriteStep = z.strictObject({
  path: absolutePath,
  content: z.string(),
  mode: fileMode,
  owner,
});
export const RunStep = z.union([
  z.string().min(1),
  z.strictObject({
    name: z.string().optional(),
    script: z.string().min(1),
    env: z.record(z.string(), z.string()).optional(),
  }),
]);
export const ServicesStep = z.strictObject({
  enable: z.array(z.string()).optional(),
  disable: z.array(z.string()).optional(),
  mask: z.array(z.string()).optional(),
});
export const User = z.strictObject({
  name: z.string().regex(/^[a-z_][a-z0-9_-]*$/),
  uid: z.number().int().nonnegative().optional(),
  groups: z.array(z.string()).optional(),
  shell: z.string().optional(),
  home: z.string().optional(),
  system: z.boolean().optional(),
  password: z
    .string()
    .optional()
    .describe("A crypt(3) hash (mkpasswd), never a clear-text password; '' for no password"),
  ssh_authorized_keys: z.array(z.string()).optional(),
});
export const Group = z.strictObject({
  name: z.string().regex(/^[a-z_][a-z0-9_-]*$/),
  gid: z.number().int().nonnegative().optional(),
  system: z.boolean().optional(),
});
const hostname = z
  .string()
  .regex(/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/, "a host name: letters, digits and '-'");
const timezone = z
  .string()
  .regex(/^(UTC|[A-Z][A-Za-z_+-]+(\/[A-Za-z0-9_+-]+){1,2})$/, "a zone such as Europe/Berlin");
const locale = z
  .string()
  .regex(
    /^(C|POSIX|C\.UTF-8|[a-z]{2,3}_[A-Z]{2}(\.[A-Za-z0-9-]+)?(@[a-z]+)?)$/,
    "e.g. en_US.UTF-8",
  );

/** The kinds of step, each implemented by one file in src/steps/. */
export const STEP_KINDS = [
  "packages",
  "remove",
  "copy",
  "write",
  "run",
  "services",
  "users",
  "groups",
  "hostname",
  "timezone",
  "locale",
] as const;
export type StepKind = (typeof STEP_KINDS)[number];

export const Step = z
  .strictObject({
    packages: z.array(packageName).min(1).optional().describe("apt-get install these"),
    remove: z.array(packageName).min(1).optional().describe("apt-get purge these"),
    copy: CopyStep.optional(),
    write: WriteStep.optional(),
    run: RunStep.optional().describe("A shell script run inside the layer's root"),
    services: ServicesStep.optional(),
    users: z.array(User).min(1).optional(),
    groups: z.array(Group).min(1).optional(),
    hostname: hostname.optional(),
    timezone: timezone.optional(),
    locale: locale.optional(),
  })
  .refine((s) => Object.keys(s).length === 1, {
    message: `a step has exactly one of: ${STEP_KINDS.join(", ")}`,
  })
  .describe("One step: an object with exactly one key");

export const Bootstrap = z.strictObject({
  variant: z.enum(VARIANTS).default("minbase").describe("mmdebstrap --variant"),
  packages: z.array(packageName).default([]).describe("mmdebstrap --include"),
});

export const Layer = z
  .strictObject({
    name,
    description: z.string().optional(),
    from: name.optional().describe("The layer this one sits on; default: the one listed before"),
    bootstrap: Bootstrap.optional().describe("Start a new stack with mmdebstrap"),
    packages: z.array(packageName).optional().describe("Installed before the stages and steps"),
    remove: z.array(packageName).optional().describe("Purged after `packages`"),
    stages: z.array(name).optional().describe("Reusable fragments, run after packages"),
    steps: z.array(Step).optional().describe("Run in order, last"),
  })
  .describe("A layer: its difference from the layer below is kept as one squashfs module");

export const OUTPUT_TYPES = ["dir", "tar"] as const;
const outputCommon = {
  layer: name.optional().describe("Top layer of this output; default: the last layer"),
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/)
    .optional()
    .describe("File name under the output directory; default: the top layer's name"),
};
export const Output = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("dir"), ...outputCommon }),
  z.strictObject({
    type: z.literal("tar"),
    ...outputCommon,
    compression: z.enum(["none", "gzip", "zstd"]).default("zstd"),
  }),
]);

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
  })
  .describe("A strata recipe: a stack of cached layers and what to make of it");

export type Recipe = z.output<typeof Recipe>;
export type RecipeInput = z.input<typeof Recipe>;
export type Distro = z.output<typeof Distro>;
export type Layer = z.output<typeof Layer>;
export type Step = z.output<typeof Step>;
export type Output = z.output<typeof Output>;
export type User = z.output<typeof User>;
export type Group = z.output<typeof Group>;
