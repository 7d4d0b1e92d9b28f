/**
 * The output registry, keyed by type. A new output is one folder under src/outputs/ (its
 * schema.ts is added to the recipe's `Output` union in recipe/schema.ts) and one line here.
 */
import type { Output } from "../recipe/schema.js";
import { dirOutput } from "./dir/index.js";
import { diskOutput } from "./disk/index.js";
import { isoOutput } from "./iso/index.js";
import { liveOutput } from "./live/index.js";
import { netbootOutput } from "./netboot/index.js";
import { ociOutput } from "./oci/index.js";
import { tarOutput } from "./tar/index.js";
import type { OutputPlugin } from "./types.js";

export const OUTPUTS: { [T in Output["type"]]: OutputPlugin<Extract<Output, { type: T }>> } = {
  dir: dirOutput,
  tar: tarOutput,
  disk: diskOutput,
  netboot: netbootOutput,
  live: liveOutput,
  iso: isoOutput,
  oci: ociOutput,
};

export function outputPlugin<O extends Output>(output: O): OutputPlugin<O> {
  return OUTPUTS[output.type] as unknown as OutputPlugin<O>;
}
