/**
 * OCI layer entries as a stack applies them: `.wh.NAME` deletes NAME of the layers below,
 * `.wh..wh..opq` in a directory hides everything the layers below put in it. Pure functions,
 * over the names `tar -t --quoting-style=c` lists.
 */
import { posix } from "node:path";
import { OPAQUE_WHITEOUT, WHITEOUT_PREFIX } from "./media-types.js";

/** What a layer removes from the layers below, before its own files are extracted. */
export interface WhiteoutPlan {
  /** Paths (relative, no leading slash) to delete with all they hold */
  remove: string[];
  /** Directories to empty */
  opaque: string[];
}

const C_ESCAPES: Record<string, number> = {
  a: 7,
  b: 8,
  f: 12,
  n: 10,
  r: 13,
  t: 9,
  v: 11,
  "\\": 92,
  '"': 34,
  "?": 63,
};

/** One name as GNU tar's C quoting style prints it ("a\nb", octal bytes), back to its text. */
export function unquoteC(line: string): string {
  return unescapeC(line.startsWith('"') && line.endsWith('"') ? line.slice(1, -1) : line);
}

/** C escapes (`\n`, `\\`, octal `\303\251` for UTF-8 bytes) back to text; tar's and getfattr's. */
export function unescapeC(body: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== "\\") {
      bytes.push(...Buffer.from(c, "utf8"));
      continue;
    }
    const octal = /^[0-7]{1,3}/.exec(body.slice(i + 1))?.[0];
    if (octal) {
      bytes.push(Number.parseInt(octal, 8));
      i += octal.length;
    } else {
      const next = body[i + 1] ?? "";
      bytes.push(C_ESCAPES[next] ?? next.charCodeAt(0));
      i++;
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** A member name as a clean relative path; undefined for one that climbs out (`..`). */
function relativeName(name: string): string | undefined {
  // As GNU tar, which skips such members rather than guess what they mean.
  if (name.split("/").includes("..")) return undefined;
  return posix.normalize(`/${name}`).slice(1).replace(/\/$/, "");
}

/** The whiteouts among a layer's member names (tar -t's lines, C-quoted). */
export function whiteoutPlan(listing: readonly string[]): WhiteoutPlan {
  const plan: WhiteoutPlan = { remove: [], opaque: [] };
  for (const line of listing) {
    if (line === "") continue;
    const name = relativeName(unquoteC(line));
    if (name === undefined) continue;
    const base = posix.basename(name);
    const dir = posix.dirname(name) === "." ? "" : posix.dirname(name);
    if (base === OPAQUE_WHITEOUT) plan.opaque.push(dir);
    else if (base.startsWith(WHITEOUT_PREFIX) && base.length > WHITEOUT_PREFIX.length) {
      plan.remove.push(posix.join(dir, base.slice(WHITEOUT_PREFIX.length)));
    }
  }
  return plan;
}
