/**
 * `run: SCRIPT` or `run: { name?, script, env?, network? }` runs a POSIX shell script (`sh -e`:
 * the first failing command fails the step) inside the layer's root, as root, with /proc, /sys
 * and /dev. No service starts (policy-rc.d says no). A non-zero exit fails the layer with the
 * step's place in the recipe and the tail of its output.
 *
 * Network: none unless `network: true` (the host's network for this step; without it the step
 * has no network at all). Packages come from `packages:` steps, which reach the mirror.
 *
 * Vars: `${name}` of a recipe variable is not pasted into the script. It stays the shell's
 * `${name}`, and the value reaches the script as the environment variable `name` (the recipe's
 * loader adds it to `env`, so the layer's cache key covers it). A value holding `$(...)`, `;`
 * or a newline is a literal string: write `"${name}"` (quoted) to get it whole, as with any
 * shell variable. Other `${...}` are the shell's own; `$${name}` leaves `${name}` to the shell
 * without setting it from the var.
 */
import { z } from "zod";
import { defineStep } from "./types.js";

export const RunStep = z
  .union([
    z.string().min(1),
    z.strictObject({
      name: z.string().optional(),
      script: z.string().min(1),
      env: z
        .record(
          z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name"),
          z.string().regex(/^[^\0]*$/, "no NUL characters"),
        )
        .optional()
        .describe("Environment variables of the script (recipe vars it names are added)"),
      network: z
        .boolean()
        .optional()
        .describe(
          "The host's network for this step; without it (default false) the step has no network at all",
        ),
    }),
  ])
  .describe("A shell script run inside the layer's root");

export const runStep = defineStep({
  kind: "run",
  schema: RunStep,
  doc: "`sh -e` in the root; a failure stops the build with the step's place and the output's tail",
  describe: (run) => (typeof run === "string" ? run : (run.name ?? run.script)),
  async run(ctx, run) {
    if (typeof run === "string") {
      await ctx.sh(run, { env: {} });
      return;
    }
    const env = run.env ?? {};
    await ctx.sh(run.script, run.network ? { env, network: true } : { env });
  },
});
