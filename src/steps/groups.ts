/** `groups: [{ name, gid?, system? }]` creates groups that do not exist yet. */
import { z } from "zod";
import { q } from "../host/shell.js";
import { accountId, accountName } from "./fields.js";
import { defineStep } from "./types.js";

export const Group = z.strictObject({
  name: accountName,
  gid: accountId.optional(),
  system: z.boolean().optional(),
});

export const groupsStep = defineStep({
  kind: "groups",
  schema: z.array(Group).min(1).describe("Groups to create"),
  doc: "create groups",
  describe: (groups) => groups.map((g) => g.name).join(" "),
  async run(ctx, groups) {
    const lines = groups.map((g) => {
      const opts = [g.system ? "-r" : "", g.gid !== undefined ? `-g ${g.gid}` : ""]
        .filter(Boolean)
        .join(" ");
      return `getent group ${q(g.name)} >/dev/null || groupadd ${opts} ${q(g.name)}`;
    });
    await ctx.sh(lines.join("\n"));
  },
});
