/**
 * `run: SCRIPT` or `run: { name?, script, env? }` runs a POSIX shell script (`sh -e`: the first
 * failing command fails the step) inside the layer's root, as root, with the network, the
 * host's DNS, /proc, /sys and /dev. No service starts (policy-rc.d says no). A non-zero exit
 * fails the layer with the step's place in the recipe and the tail of its output.
 * `${var}` names a recipe variable; other `${...}` are left to the shell.
 */
import { z } from "zod";
import { defineStep } from "./types.js";

export const RunStep = z
  .union([
    z.string().min(1),
    z.strictObject({
      name: z.string().optional(),
      script: z.string().min(1),
      env: z.record(z.string(), z.string()).optional(),
    }),
  ])
  .describe("A shell script run inside the layer's root");

export const runStep = defineStep({
  kind: "run",
  schema: RunStep,
  doc: "`sh -e` in the root; a failure stops the build with the step's place and the output's tail",
  describe: (run) => (typeof run === "string" ? run : (run.name ?? run.script)),
  async run(ctx, run) {
    const script = typeof run === "string" ? run : run.script;
    const env = typeof run === "string" ? {} : (run.env ?? {});
    await ctx.sh(script, { env });
  },
});
