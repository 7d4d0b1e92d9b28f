/**
 * `timezone: Area/City` sets /etc/localtime and /etc/timezone, installing tzdata when the image
 * lacks it. A zone is one to three parts of letters, digits, '_', '+' and '-' joined by '/'
 * (UTC, Europe/Berlin, America/Argentina/Buenos_Aires, Etc/GMT+5): never '.', so never `..`.
 * An unknown zone fails the step.
 */
import { z } from "zod";
import { q } from "../host/shell.js";
import { defineStep } from "./types.js";

export const timezoneStep = defineStep({
  kind: "timezone",
  schema: z
    .string()
    .max(64)
    .regex(
      /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9][A-Za-z0-9_+-]*){0,2}$/,
      "a zone such as Europe/Berlin or UTC",
    )
    .describe("A time zone such as Europe/Berlin, or UTC"),
  doc: "/etc/localtime, /etc/timezone (installs tzdata if needed)",
  describe: (zone) => zone,
  async run(ctx, zone) {
    const has = await ctx.sh("dpkg-query -W -f='${Status}' tzdata 2>/dev/null || true");
    if (!has.includes("install ok installed")) await ctx.aptInstall(["tzdata"]);
    await ctx.sh(
      [
        `zone=${q(zone)}`,
        '[ -e "/usr/share/zoneinfo/$zone" ] || { echo "timezone: unknown zone $zone" >&2; exit 1; }',
        'ln -sfn "/usr/share/zoneinfo/$zone" /etc/localtime',
        'printf "%s\\n" "$zone" > /etc/timezone',
      ].join("\n"),
    );
  },
});
