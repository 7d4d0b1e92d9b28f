/**
 * The output registry, keyed by type. Every output is fed the same input (the stacked modules
 * of its top layer); names and host prerequisites are checked before any layer is built.
 */
import type { Output } from "../recipe/schema.js";
import { dirOutput } from "./dir.js";
import { diskOutput } from "./disk.js";
import { tarOutput } from "./tar.js";
import type { OutputType } from "./types.js";

export const OUTPUTS: { [T in Output["type"]]: OutputType } = {
  dir: dirOutput,
  tar: tarOutput,
  disk: diskOutput,
};

export function outputType(output: Output): OutputType {
  return OUTPUTS[output.type];
}
