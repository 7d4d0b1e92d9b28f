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

export const OUTPUT_TYPES = ["dir", "tar", "disk"] as const;
const outputCommon = {
  layer: name.optional().describe("Top layer of this output; default: the last layer"),
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/)
    .optional()
    .describe("File name under the output directory; default: the top layer's name"),
};
/** Sizes as people write them: 2G, 512M, 1.5GiB, or a number of bytes. */
export const SIZE_PATTERN = /^\d+(\.\d+)?\s*([KMGT](i?B)?)?$/i;
const size = z
  .union([z.string().regex(SIZE_PATTERN, "a size such as 2G, 512M or 1.5GiB"), z.number().int()])
  .describe("Bytes, or a size such as 2G, 512M, 1.5GiB");

export const ROOT_MODES = ["immutable", "persistent", "flat"] as const;
export const DiskOutput = z.strictObject({
  type: z.literal("disk"),
  ...outputCommon,
  table: z.enum(["gpt", "mbr"]).default("gpt").describe("Partition table"),
  boot: z
    .enum(["uefi", "bios"])
    .default("uefi")
    .describe("Firmware: uefi (systemd-boot) or bios (GRUB, amd64 only)"),
  filesystem: z
    .enum(["ext4", "btrfs"])
    .default("ext4")
    .describe("Filesystem of the store (or, with root: flat, of the root)"),
  root: z
    .enum(ROOT_MODES)
    .default("immutable")
    .describe(
      "immutable: layers + tmpfs upper; persistent: layers + upper on the store; flat: a classic writable root",
    ),
  size: size.optional().describe("Image size; default: what the layers need plus 25% and 256M"),
  esp_size: size.default("256M").describe("Size of the EFI system partition (uefi)"),
  cmdline: z.string().default("").describe("Extra kernel command line"),
  console: z
    .array(z.string().regex(/^[A-Za-z0-9]+(,[0-9a-z]+)?$/, "a console such as ttyS0,115200"))
    .optional()
    .describe(
      "Kernel consoles, the last one primary; default: the screen and the serial port (ttyS0 on amd64, ttyAMA0 on arm64)",
    ),
});
export const Output = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("dir"), ...outputCommon }),
  z.strictObject({
    type: z.literal("tar"),
    ...outputCommon,
    compression: z.enum(["none", "gzip", "zstd"]).default("zstd"),
  }),
  DiskOutput,
]);

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
  timeout: z.number().positive().default(120).describe("Seconds the command may take"),
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
    boot_timeout: z
      .number()
      .positive()
      .default(600)
      .describe("Seconds from QEMU's start to the login prompt"),
    memory: size.default("1G").describe("Guest memory"),
    checks: z.array(TestCheck).min(1),
  })
  .describe("Checks that `strata test` runs in the booted image");

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
  })
  .describe("A strata recipe: a stack of cached layers and what to make of it");

export type Recipe = z.output<typeof Recipe>;
export type RecipeInput = z.input<typeof Recipe>;
export type Distro = z.output<typeof Distro>;
export type Layer = z.output<typeof Layer>;
export type Step = z.output<typeof Step>;
export type Output = z.output<typeof Output>;
export type DiskOutput = z.output<typeof DiskOutput>;
export type Tests = z.output<typeof Tests>;
export type TestCheck = z.output<typeof TestCheck>;
export type User = z.output<typeof User>;
export type Group = z.output<typeof Group>;
