/**
 * An example recipe with other outputs, for the boot tests and the benchmarks: they all build
 * examples/disk's layers (so they share its cached layers) and differ only in what they write.
 */
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const EXAMPLES = join(fileURLToPath(import.meta.url), "..", "..", "..", "examples");

/**
 * Copies examples/`example` into `dir`, leaves out its `tests:`, puts `outputs` (YAML flow
 * mappings) in place of its outputs and applies `edit`; returns `dir`.
 */
export function exampleWith(
  dir: string,
  outputs: readonly string[],
  options: { example?: string; edit?: (yaml: string) => string } = {},
): string {
  cpSync(join(EXAMPLES, options.example ?? "disk"), dir, { recursive: true });
  const file = join(dir, "strata.yaml");
  const original = readFileSync(file, "utf8");
  const yaml = original
    .replace(/^tests:[\s\S]*$/m, "")
    .replace(
      /^outputs:\n( +- .*\n?)+/m,
      outputs.length === 0
        ? "outputs: []\n"
        : `outputs:\n${outputs.map((o) => `  - ${o}\n`).join("")}`,
    );
  if (!/^outputs:\n/m.test(original) || (outputs.length > 0 && !yaml.includes(outputs[0] ?? ""))) {
    throw new Error(`examples/${options.example ?? "disk"}: no outputs list to replace`);
  }
  writeFileSync(file, (options.edit ?? ((y) => y))(yaml));
  return dir;
}
