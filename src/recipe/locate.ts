/**
 * Maps a field path (as zod reports it) back to a line and column in the YAML source, so every
 * recipe problem names its place. A path that points at a missing key falls back to the nearest
 * ancestor that exists.
 */
import { type Document, isMap, isNode, isScalar, type LineCounter } from "yaml";

export type FieldPath = readonly PropertyKey[];

export function formatPath(path: FieldPath): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}

export interface Position {
  line: number;
  column: number;
}

export function locate(
  doc: Document,
  lines: LineCounter,
  path: FieldPath,
  options: { key?: string } = {},
): Position {
  let parts = path.map((p) => (typeof p === "symbol" ? String(p) : p));
  for (;;) {
    const node = parts.length === 0 ? doc.contents : doc.getIn(parts, true);
    if (isNode(node) && node.range) {
      // For an unknown key, point at the key itself rather than the map that holds it.
      if (options.key !== undefined && isMap(node)) {
        const pair = node.items.find((it) => isScalar(it.key) && it.key.value === options.key);
        if (pair && isNode(pair.key) && pair.key.range) return position(lines, pair.key.range[0]);
      }
      return position(lines, node.range[0]);
    }
    if (parts.length === 0) return { line: 1, column: 1 };
    parts = parts.slice(0, -1);
  }
}

/** The closest of `choices` to `word`, when it is close enough to be a likely typo. */
export function suggest(word: string, choices: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const choice of choices) {
    const d = editDistance(word, choice);
    if (d < bestDistance) {
      best = choice;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] as number;
      row[j] = Math.min(
        cur + 1,
        (row[j - 1] as number) + 1,
        prev + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      prev = cur;
    }
  }
  return row[b.length] as number;
}

function position(lines: LineCounter, offset: number): Position {
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}
