/**
 * `write: { path, content, mode?, owner? }` writes a file with the given content (after vars
 * substitution), creating its directory. Default mode 0644, owner root:root.
 */
import { z } from "zod";
import { q } from "../host/shell.js";
import { absolutePath, fileMode, owner } from "./fields.js";
import { defineStep } from "./types.js";

export const WriteStep = z
  .strictObject({
    path: absolutePath,
    content: z.string(),
    mode: fileMode,
    owner,
  })
  .describe("Write a file with this content");

export const writeStep = defineStep({
  kind: "write",
  schema: WriteStep,
  doc: "a file with this content",
  describe: (write) => write.path,
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
});
