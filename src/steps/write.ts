/**
 * `write: { path, content, mode?, owner? }` writes a file with the given content (after vars
 * substitution), creating its directory. Default mode 0644, owner root:root.
 */
import { q, type StepHandler } from "./types.js";

export const writeStep: StepHandler<"write"> = {
  kind: "write",
  async run(ctx, write) {
    const owner = write.owner ?? "root:root";
    const [user, group] = owner.split(":");
    await ctx.sh(
      [
        `install -D -m ${q(write.mode ?? "0644")} -o ${q(user ?? "root")} -g ${q(group ?? user ?? "root")} /run/strata/content ${q(write.path)}`,
      ].join("\n"),
      { files: { content: write.content } },
    );
  },
};
