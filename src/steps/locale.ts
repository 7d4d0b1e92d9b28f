/**
 * `locale: en_US.UTF-8` generates the locale (installing `locales` when needed) and makes it the
 * system default in /etc/default/locale. C, C.UTF-8 and POSIX need no generation.
 */
import { z } from "zod";
import { q } from "../host/shell.js";
import { defineStep } from "./types.js";

export const localeStep = defineStep({
  kind: "locale",
  schema: z
    .string()
    .max(64)
    .regex(
      /^(C|POSIX|C\.UTF-8|[a-z]{2,3}_[A-Z]{2}(\.[A-Za-z0-9-]+)?(@[a-z]+)?)$/,
      "e.g. en_US.UTF-8",
    )
    .describe("The system locale, e.g. en_US.UTF-8"),
  doc: "generate and select a locale (installs locales if needed)",
  describe: (locale) => locale,
  async run(ctx, locale) {
    const builtin = ["C", "C.UTF-8", "POSIX"].includes(locale);
    if (!builtin) {
      const has = await ctx.sh("dpkg-query -W -f='${Status}' locales 2>/dev/null || true");
      if (!has.includes("install ok installed")) await ctx.aptInstall(["locales"]);
      const charset = locale.includes(".")
        ? (locale.split(".")[1]?.split("@")[0] ?? "UTF-8")
        : "ISO-8859-1";
      await ctx.sh(
        [
          `line=${q(`${locale} ${charset}`)}`,
          'grep -qxF "$line" /etc/locale.gen 2>/dev/null || printf "%s\\n" "$line" >> /etc/locale.gen',
          "locale-gen",
        ].join("\n"),
      );
    }
    await ctx.sh(`printf 'LANG=%s\\n' ${q(locale)} > /etc/default/locale`);
  },
});
