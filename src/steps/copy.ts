/**
 * `copy: { from, to, mode?, owner? }` copies a file or a directory tree from beside the recipe
 * into the image. `from` is relative to the recipe's directory and may not leave it; `to` is an
 * absolute path in the image (a directory's contents land in `to`; a file named `to/` keeps its
 * name). Files are owned by `owner` (default root:root); `mode` sets the mode of `to` itself.
 * The content of what is copied is part of the layer's cache key.
 */
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { q, type StepHandler } from "./types.js";

export const copyStep: StepHandler<"copy"> = {
  kind: "copy",
  async run(ctx, copy) {
    const source = resolve(ctx.recipeDir, copy.from);
    const isDir = statSync(source).isDirectory();
    const staged = await ctx.stageCopy(source, "copy-source");
    const owner = copy.owner ?? "root:root";
    const dest = copy.to.endsWith("/") && !isDir ? `${copy.to}${source.split("/").pop()}` : copy.to;
    const lines = ["umask 022", `dest=${q(dest.replace(/\/+$/, "") || "/")}`];
    if (isDir) {
      lines.push(
        'mkdir -p "$dest"',
        `cp -a --no-preserve=ownership ${q(staged)}/. "$dest"/`,
        `chown -R ${q(owner)} "$dest"`,
      );
    } else {
      lines.push(
        'mkdir -p "$(dirname "$dest")"',
        `cp -a --no-preserve=ownership ${q(staged)} "$dest"`,
        `chown ${q(owner)} "$dest"`,
      );
    }
    if (copy.mode) lines.push(`chmod ${q(copy.mode)} "$dest"`);
    await ctx.sh(lines.join("\n"));
  },
};
