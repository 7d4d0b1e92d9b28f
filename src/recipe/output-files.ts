/**
 * The names in a build's output directory, so the recipe's checks can refuse an output whose
 * files would take the place of strata's own or of another output's before anything is built.
 * Kept beside the code that writes them; a new file written into the output directory is
 * added here.
 */
import { outputPlugin } from "../outputs/index.js";
import type { Output } from "./schema.js";

/** What strata itself writes into the output directory. */
export const STRATA_FILES: readonly string[] = [
  ".strata-out", // src/build/build.ts: the marker that the directory is strata's
  ".strata-outputs.json", // src/build/output-stamps.ts
  "manifest.json", // src/build/build.ts
  "report.json", // src/report/write.ts
  "report.html", // the usual name for --report
  "test-report.xml", // src/testing/test-image.ts (strata test's defaults)
  "test-report.json",
  "test-console.log",
];

/** Layer modules, `01-base.sqfs` (src/build/build.ts removes those it did not just write). */
const MODULE = /^\d\d-.+\.sqfs$/;

/** Why `file` may not be an output's file name, or undefined when it may. */
export function reservedReason(file: string): string | undefined {
  if (STRATA_FILES.includes(file)) return `${file} is one of strata's own files`;
  if (MODULE.test(file)) return `${file} has the name of a layer module (NN-name.sqfs)`;
  // manifest.json.tmp, <name>.img.tmp, report.json.<pid>.<time>.tmp: files being written.
  if (file.endsWith(".tmp")) return `${file} has the name of a file being written (*.tmp)`;
  return undefined;
}

/** Every name an output writes in the output directory: its file, then what goes beside it. */
export function outputFiles(output: Output, name: string): string[] {
  const file = outputPlugin(output).fileName(output, name);
  switch (output.type) {
    case "dir": // src/outputs/dir/index.ts: the layers the tree holds
      return [file, `.${file}.layers.json`];
    case "disk": // src/outputs/disk/image.ts: the block map and how to boot it; ./release.ts
      return [file, `${file}.bmap`, `${file}.json`, `${name}.release`];
    default:
      return [file];
  }
}
