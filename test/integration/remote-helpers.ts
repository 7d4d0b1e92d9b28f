/** What the remote-cache integration tests share: a build of examples/minimal that must succeed. */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { BuildResult } from "../../src/build/build.js";
import { Cache } from "../../src/cache/store.js";
import { cliAsync, ROOT } from "../helpers.js";

export const MINIMAL = join(ROOT, "examples/minimal");

/**
 * `strata build examples/minimal --json` on `cache` with `args`; the build must succeed. Async,
 * so a registry proxy in the test process still serves. Every build goes to the one `work/out`:
 * its dir output is then kept while the layers are the same, not copied (and removed) anew.
 */
export function minimalBuilds(work: string) {
  return async (cache: string, args: string[]) => {
    const out = join(work, "out");
    const r = await cliAsync([
      "build",
      MINIMAL,
      "--json",
      "--cache-dir",
      cache,
      "--out",
      out,
      ...args,
    ]);
    assert.equal(r.code, 0, r.stderr);
    return { result: JSON.parse(r.stdout) as BuildResult, stderr: r.stderr };
  };
}

export const digests = (r: BuildResult) => r.layers.map((l) => [l.name, l.digest]);

/** The warning lines of a build's stderr that mention `text` (a registry's address). */
export function warningsAbout(stderr: string, text: string): string[] {
  return stderr.split("\n").filter((l) => l.includes("warning:") && l.includes(text));
}

/** Whether every layer of `r` is whole in the cache at `dir` (its module's sha256 is its meta's). */
export async function allVerify(dir: string, r: BuildResult): Promise<boolean> {
  const cache = new Cache(dir);
  for (const l of r.layers) if (!(await cache.verify(l.key))) return false;
  return true;
}
