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
export const accountName = z
  .string()
  .max(32)
  .regex(/^[a-z_][a-z0-9_-]*$/);

/**
 * A uid or gid: 0 to 2^31-2. uid_t is 32 bits, but (uid_t)-1 means "no change" to chown and
 * setresuid, many tools read ids as signed 32-bit numbers, and 65535 is the 16-bit -1 that
 * systemd refuses; so ids stop below 2^31 and 65535 is not one.
 */
export const MAX_ACCOUNT_ID = 2 ** 31 - 2;
export const accountId = z
  .number()
  .int("a whole number")
  .min(0)
  .max(MAX_ACCOUNT_ID, `at most ${MAX_ACCOUNT_ID} (2^31-2)`)
  .refine((id) => id !== 65535, "65535 is not a valid id (it is the 16-bit -1)");
