/**
 * Reading a recipe file into a YAML document and plain data. Whatever is at the path, the
 * result is the data or a StrataError naming the file: no recipe, a directory or a device in
 * its place, an unreadable or huge file, YAML syntax errors with their places, and a YAML
 * alias bomb (expansion stops at MAX_ALIASES) at its first alias.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { type Document, LineCounter, parseDocument, visit } from "yaml";
import { type RecipeProblem, StrataError } from "../errors.js";

/** Recipes are a page or two of YAML; anything this large is not one. */
const MAX_RECIPE_BYTES = 4 * 1024 * 1024;
/**
 * How many aliases (`*name`) a recipe may expand: far more than any recipe uses, far fewer than
 * a "billion laughs" document needs to blow up (yaml's maxAliasCount).
 */
const MAX_ALIASES = 100;

/** `strata.yaml` inside a directory, or the file itself. */
export function recipePath(pathOrDir: string): string {
  const p = resolve(pathOrDir);
  const hint = "pass a recipe file or a directory that holds strata.yaml";
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(p);
  } catch {
    throw new StrataError("E_RECIPE_NOT_FOUND", `no recipe at ${p}`, { hint });
  }
  if (!st.isDirectory()) return p;
  const file = join(p, "strata.yaml");
  try {
    statSync(file);
  } catch {
    if (/\.ya?ml$/.test(basename(p))) {
      throw new StrataError("E_RECIPE_NOT_FOUND", `${p} is a directory, not a recipe file`, {
        hint,
      });
    }
    throw new StrataError("E_RECIPE_NOT_FOUND", `${p} has no strata.yaml`, { hint });
  }
  return file;
}

/** The recipe file's text; a directory, device or unreadable file is a named error. */
function readRecipe(file: string): string {
  let fd: number | undefined;
  try {
    // Opened once and checked through the descriptor: a FIFO opens without blocking here.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (st.isDirectory()) {
      throw new StrataError("E_RECIPE_NOT_FOUND", `${file} is a directory, not a recipe file`, {
        hint: "pass a recipe file or a directory that holds strata.yaml",
      });
    }
    if (!st.isFile()) {
      throw new StrataError("E_RECIPE_READ", `${file} is not a regular file`, {
        hint: "a recipe is a YAML file",
      });
    }
    if (st.size > MAX_RECIPE_BYTES) {
      throw new StrataError(
        "E_RECIPE_READ",
        `${file} is ${st.size} bytes, too large for a recipe (at most ${MAX_RECIPE_BYTES})`,
        { hint: "a recipe is a short YAML file; is this the right file?" },
      );
    }
    return readFileSync(fd, "utf8");
  } catch (e) {
    if (e instanceof StrataError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EISDIR") {
      throw new StrataError("E_RECIPE_NOT_FOUND", `${file} is a directory, not a recipe file`, {
        hint: "pass a recipe file or a directory that holds strata.yaml",
      });
    }
    throw new StrataError("E_RECIPE_READ", `cannot read ${file}: ${(e as Error).message}`, {
      hint: code === "EACCES" ? "check the file's permissions" : undefined,
      cause: e,
    });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The document as plain data; an alias bomb is a YAML error at the first alias. */
function toData(doc: Document, lines: LineCounter, file: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    if (!(e instanceof ReferenceError)) throw e;
    let offset = 0;
    visit(doc, {
      Alias(_key, node) {
        offset = node.range?.[0] ?? 0;
        return visit.BREAK;
      },
    });
    const { line, col } = lines.linePos(offset);
    throw new StrataError("E_RECIPE_YAML", `${file}: its aliases expand too far`, {
      problems: [
        {
          file,
          line,
          column: col,
          path: "",
          message: `${e.message} (more than ${MAX_ALIASES} aliases expanded)`,
        },
      ],
      hint: "write the repeated parts out, or use fewer nested aliases (*name)",
    });
  }
}

/** The recipe file as a document (for places: `lines`) and as plain data. */
export function readRecipeFile(file: string): { doc: Document; lines: LineCounter; data: unknown } {
  const source = readRecipe(file);
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems: RecipeProblem[] = doc.errors.map((e) => {
      const { line, col } = lines.linePos(e.pos[0]);
      return { file, line, column: col, path: "", message: e.message.split("\n")[0] ?? e.message };
    });
    throw new StrataError("E_RECIPE_YAML", `${file} is not valid YAML`, {
      problems,
      hint: "fix the YAML syntax first",
    });
  }
  return { doc, lines, data: toData(doc, lines, file) };
}
