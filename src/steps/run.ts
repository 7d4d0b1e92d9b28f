/**
 * `run: SCRIPT` or `run: { name?, script, env? }` runs a POSIX shell script (`sh -e`: the first
 * failing command fails the step) inside the layer's root, as root, with the network, the
 * host's DNS, /proc, /sys and /dev. No service starts (policy-rc.d says no). A non-zero exit
 * fails the layer with the step's place in the recipe and the tail of its output.
 * `${var}` names a recipe variable; other `${...}` are left to the shell.
 */
import type { StepHandler } from "./types.js";

export const runStep: StepHandler<"run"> = {
  kind: "run",
  async run(ctx, run) {
    const script = typeof run === "string" ? run : run.script;
    const env = typeof run === "string" ? {} : (run.env ?? {});
    await ctx.sh(script, { env });
  },
};
