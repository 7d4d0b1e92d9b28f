/**
 * Every failure strata reports is a StrataError: a permanent code (documented in the README,
 * never reused), what happened, and a hint that says what would be right. Only the CLI entry
 * point prints errors and exits; library callers catch and inspect `code`.
 */

export type ErrorCode =
  | "E_RECIPE_NOT_FOUND"
  | "E_RECIPE_YAML"
  | "E_RECIPE_INVALID"
  | "E_RECIPE_READ"
  | "E_TOOL_MISSING"
  | "E_KERNEL_FEATURE"
  | "E_NOT_ROOT"
  | "E_COMMAND_FAILED"
  | "E_STEP_FAILED"
  | "E_BOOTSTRAP_FAILED"
  | "E_OCI_IMAGE"
  | "E_CACHE"
  | "E_REMOTE_CACHE"
  | "E_REMOTE_UNAVAILABLE"
  | "E_REMOTE_AUTH"
  | "E_LOCKED"
  | "E_OUTPUT"
  | "E_USAGE"
  | "E_MIRROR"
  | "E_BINFMT"
  | "E_VM"
  | "E_VM_TIMEOUT"
  | "E_VM_GUEST_CRASH"
  | "E_DISK_SIZE"
  | "E_LAYER_FILE"
  | "E_NO_KERNEL"
  | "E_BOARD_KERNEL"
  | "E_KEY"
  | "E_PUBLISH"
  | "E_SIGNATURE"
  | "E_FLASH_IMAGE"
  | "E_FLASH_BMAP"
  | "E_FLASH_BMAP_MISMATCH"
  | "E_FLASH_NOT_BLOCK"
  | "E_FLASH_BUSY"
  | "E_FLASH_SYSTEM_DISK"
  | "E_FLASH_TOO_SMALL"
  | "E_FLASH_CONFIRM"
  | "E_FLASH_WRITE"
  | "E_FLASH_VERIFY";

/** One problem at one place in a recipe file. */
export interface RecipeProblem {
  file: string;
  line: number;
  column: number;
  /** The field's path, e.g. `layers[1].steps[0].copy.from`. */
  path: string;
  message: string;
  hint?: string;
}

export class StrataError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  /** Recipe problems, when the error is about a recipe (all of them, not just the first). */
  readonly problems: RecipeProblem[];

  constructor(
    code: ErrorCode,
    message: string,
    options: { hint?: string; problems?: RecipeProblem[]; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "StrataError";
    this.code = code;
    this.hint = options.hint;
    this.problems = options.problems ?? [];
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      hint: this.hint,
      problems: this.problems.length > 0 ? this.problems : undefined,
    };
  }
}

/** Formats a problem the way compilers do, so editors and terminals can jump to it. */
export function formatProblem(p: RecipeProblem): string {
  const hint = p.hint ? `\n    hint: ${p.hint}` : "";
  return `${p.file}:${p.line}:${p.column}: ${p.path ? `${p.path}: ` : ""}${p.message}${hint}`;
}
