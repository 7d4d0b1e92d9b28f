/**
 * POSIX shell quoting, shared by everything that writes shell scripts (the steps, the
 * bootstrap): one single-quoted word, with each `'` closed, escaped and reopened.
 */

/** Quotes a value for POSIX sh. */
export const q = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;
