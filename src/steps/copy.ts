/**
 * `copy: { from, to, mode?, owner? }` copies a file or a directory tree from beside the recipe
 * into the image. `from` is relative to the recipe's directory and may not leave it; `to` is an
 * absolute path in the image (a directory's contents land in `to`; a file named `to/` keeps its
 * name, the name written in `from`). Files are owned by `owner` (default root:root); `mode`
 * sets the mode of `to` itself. The content of what is copied is part of the layer's cache key.
 *
 * Symbolic links: `from` itself (and any directory on its way) may be a link whose real path
 * stays inside the recipe's directory; it is followed, so what is copied and hashed is its
 * target's content. Links inside a copied tree are copied as links (like `cp -a`), their
 * target text unchanged and hashed as text, never followed on the host. FIFOs, sockets and
 * device nodes anywhere in a source are refused before the build.
 */
import { existsSync, lstatSync, readdirSync, realpathSync, type Stats, statSync } from "node:fs";
import { basename, isAbsolute, join, relative, resolve } from "node:path";
import { z } from "zod";
import { filesDigest } from "../cache/files-digest.js";
import { q } from "../host/shell.js";
import type { SemanticProblem } from "../recipe/verify.js";
import { absolutePath, fileMode, owner } from "./fields.js";
import { defineStep } from "./types.js";

export const CopyStep = z
  .strictObject({
    from: z.string().min(1).describe("File or directory, relative to the recipe's directory"),
    to: absolutePath.describe("Destination in the image"),
    mode: fileMode,
    owner,
  })
  .describe("Copy a file or a tree from beside the recipe into the image");

/** Whether `child` is `root` or inside it, after resolving symbolic links. */
export function isInside(root: string, child: string): boolean {
  const rel = relative(realpathSync(root), realpathSync(child));
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** A source must exist inside the recipe's directory, so the layer's key covers its content. */
export function sourceProblem(
  from: string,
  dir: string,
): Omit<SemanticProblem, "path"> | undefined {
  const source = resolve(dir, from);
  const hint = "copy sources are relative to the recipe's directory";
  if (isAbsolute(from)) return { message: `'${from}' is absolute`, hint };
  if (!existsSync(source)) {
    return { message: `'${from}' does not exist (looked for ${source})`, hint };
  }
  if (!isInside(dir, source)) {
    return {
      message: `'${from}' is outside the recipe's directory`,
      hint: "keep every file a recipe copies beside the recipe, so its digest covers them",
    };
  }
  const bad = unsupportedEntries(realpathSync(source));
  if (bad.length > 0) {
    const shown =
      bad.slice(0, 5).join(", ") + (bad.length > 5 ? `, and ${bad.length - 5} more` : "");
    return {
      message: `'${from}' holds what cannot be copied: ${shown}`,
      hint: "copy sources hold regular files, directories and symbolic links only",
    };
  }
  return undefined;
}

const KINDS: [string, (st: Stats) => boolean][] = [
  ["a FIFO", (st) => st.isFIFO()],
  ["a socket", (st) => st.isSocket()],
  ["a device node", (st) => st.isBlockDevice() || st.isCharacterDevice()],
];

/** Entries of a source tree that are not files, directories or links: `path (a FIFO)`. */
function unsupportedEntries(root: string): string[] {
  const found: string[] = [];
  const walk = (path: string, rel: string) => {
    let st: Stats;
    try {
      st = lstatSync(path);
    } catch (e) {
      found.push(`${rel || basename(path)} (${(e as NodeJS.ErrnoException).code ?? "unreadable"})`);
      return;
    }
    const kind = KINDS.find(([, is]) => is(st))?.[0];
    if (kind) found.push(`${rel || basename(path)} (${kind})`);
    if (!st.isDirectory()) return;
    let names: string[];
    try {
      names = readdirSync(path).sort();
    } catch (e) {
      found.push(`${rel || "."} (${(e as NodeJS.ErrnoException).code ?? "unreadable"})`);
      return;
    }
    for (const name of names) walk(join(path, name), rel ? `${rel}/${name}` : name);
  };
  walk(root, "");
  return found;
}

/** What is copied: the source's real path (a link named in `from` is followed). */
const realSource = (recipeDir: string, from: string) => realpathSync(resolve(recipeDir, from));

export const copyStep = defineStep({
  kind: "copy",
  schema: CopyStep,
  doc: "a file or tree from beside the recipe (never outside it) into the image",
  describe: (copy) => copy.to,
  verify(copy, { dir }) {
    const problem = sourceProblem(copy.from, dir);
    return problem ? [{ path: ["copy", "from"], ...problem }] : [];
  },
  async cacheInput(copy, { recipeDir }) {
    const digest = await filesDigest(realSource(recipeDir, copy.from));
    return { ...copy, content: `sha256:${digest}` };
  },
  async run(ctx, copy) {
    const source = realSource(ctx.recipeDir, copy.from);
    const isDir = statSync(source).isDirectory();
    const staged = await ctx.stageCopy(source, "copy-source");
    const owner = copy.owner ?? "root:root";
    const name = basename(resolve(ctx.recipeDir, copy.from));
    const dest = copy.to.endsWith("/") && !isDir ? `${copy.to}${name}` : copy.to;
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
});
