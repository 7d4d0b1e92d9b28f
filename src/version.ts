/** strata's version, from its package.json (the CLI's --version and the build report). */
import { readFileSync } from "node:fs";

export const STRATA_VERSION = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;
