/**
 * Field schemas shared by several steps and by the recipe's own `packages`/`remove`/`bootstrap`
 * keys, so a package name or a file mode is checked the same way everywhere.
 */
import { z } from "zod";

export const absolutePath = z
  .string()
  .min(1)
  .refine((p) => p.startsWith("/"), "must be an absolute path inside the image, e.g. /opt/app");

export const fileMode = z
  .string()
  .regex(/^0?[0-7]{3,4}$/, "an octal mode in quotes, e.g. '0644' or '0755'")
  .optional();

export const owner = z
  .string()
  .regex(/^[a-z_][a-z0-9_-]*(:[a-z_][a-z0-9_-]*)?$|^\d+(:\d+)?$/, "user[:group], e.g. root:root")
  .optional();

export const packageName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?(=[A-Za-z0-9.+:~-]+)?$/, "a Debian package name")
  .describe("A Debian package, optionally pinned as name=version");

/** User and group names as useradd/groupadd accept them. */
export const accountName = z.string().regex(/^[a-z_][a-z0-9_-]*$/);
