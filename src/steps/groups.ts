/** `groups: [{ name, gid?, system? }]` creates groups that do not exist yet. */
import { q, type StepHandler } from "./types.js";

export const groupsStep: StepHandler<"groups"> = {
  kind: "groups",
  async run(ctx, groups) {
    const lines = groups.map((g) => {
      const opts = [g.system ? "-r" : "", g.gid !== undefined ? `-g ${g.gid}` : ""]
        .filter(Boolean)
        .join(" ");
      return `getent group ${q(g.name)} >/dev/null || groupadd ${opts} ${q(g.name)}`;
    });
    await ctx.sh(lines.join("\n"));
  },
};
