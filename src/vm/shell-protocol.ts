/**
 * What is typed at the guest's shell to run a command and how its result is read back from
 * the console. Pure functions, so the protocol is unit-tested without a guest.
 *
 * - The command travels base64-encoded (no quoting problems), in lines short enough for the
 *   tty's 4095-byte line limit, and runs as `sh -c` with stdin from /dev/null (it cannot eat
 *   what is typed next) and stderr merged into stdout, as a person would see it.
 * - Markers around the output are printed with printf from split strings, so the echo of the
 *   typed line can never look like a marker; each carries a per-machine nonce and a counter.
 */

/**
 * Typed once after login: no line editing (bash's readline echoes by itself) and no echo, a
 * plain prompt, no history file, no pagers or colours, wide lines, a quiet kernel console.
 */
export function setupLine(nonce: string): string {
  return [
    "(set +o emacs +o vi) 2>/dev/null && set +o emacs +o vi",
    "stty -echo 2>/dev/null",
    "stty cols 512 2>/dev/null",
    "PS1='# '",
    "PS2=''",
    "unset HISTFILE",
    "export TERM=dumb PAGER=cat SYSTEMD_PAGER=cat SYSTEMD_COLORS=0",
    "dmesg -n 1 2>/dev/null",
    `printf '@@STRATA-%s-%s@@\\n' READY ${nonce}`,
  ].join("; ");
}

export function readyPattern(nonce: string): RegExp {
  return new RegExp(`@@STRATA-READY-${nonce}@@\\n`);
}

/** Base64 characters per typed line (well under the tty's 4095-byte line limit). */
export const CHUNK = 2048;

/** The lines to type to run `command`; `id` is unique per machine (nonce + counter). */
export function execLines(id: string, command: string): string[] {
  const b64 = Buffer.from(command, "utf8").toString("base64");
  const chunks = b64.match(new RegExp(`.{1,${CHUNK}}`, "g")) ?? [""];
  const lines = chunks.map((c, i) =>
    i === 0 ? `STRATA_CMD='${c}'` : `STRATA_CMD="$STRATA_CMD"'${c}'`,
  );
  lines.push(
    [
      `printf '@@STRATA-BEGIN-%s@@\\n' ${id}`,
      `sh -c "$(printf %s "$STRATA_CMD" | base64 -d)" </dev/null 2>&1`,
      `printf '\\n@@STRATA-END-%s-%s@@\\n' ${id} "$?"`,
    ].join("; "),
  );
  return lines;
}

/** Matches one command's output: group 1 the output, group 2 the exit status. */
export function execPattern(id: string): RegExp {
  return new RegExp(`@@STRATA-BEGIN-${id}@@\\n([\\s\\S]*?)\\n@@STRATA-END-${id}-(\\d+)@@\\n`);
}

/**
 * The serial line is also the system console, so lines the kernel or journald print there
 * while a command runs (journald forwards `StandardOutput=journal+console` services, which
 * `dmesg -n` does not quiet) land between the markers. Both use the printk prefix
 * `[    12.345678] `; whole lines with it are dropped. A command that needs such lines
 * (dmesg) reads them with `exec(..., { raw: true })`.
 */
const CONSOLE_LOG_LINE = /^\[ *\d+\.\d{6}\] /;

export function dropConsoleLog(output: string): string {
  return output
    .split("\n")
    .filter((line) => !CONSOLE_LOG_LINE.test(line))
    .join("\n");
}

/** A line that prints a marker, to find the shell again after an interrupt. */
export function syncLine(id: string): string {
  return `printf '@@STRATA-SYNC-%s@@\\n' ${id}`;
}

export function syncPattern(id: string): RegExp {
  return new RegExp(`@@STRATA-SYNC-${id}@@\\n`);
}

/** getty's prompt, `<hostname> login: ` at the start of a line (not "Last login:"). */
export const LOGIN_PROMPT = /(?:^|\n)(?!Last )[A-Za-z0-9._-]+ login: /;
/** After the user name: a password prompt, a shell prompt, or a refusal. */
export const AFTER_USER = /Password: |[#$] $|Login incorrect|Login timed out/;
/** After the password: a shell prompt, or a refusal. */
export const AFTER_PASSWORD = /[#$] $|Login incorrect|Login timed out/;
