/**
 * `timezone: Area/City` sets /etc/localtime and /etc/timezone, installing tzdata when the image
 * lacks it. An unknown zone fails the step.
 */
import { z } from "zod";
import { q } from "../host/shell.js";
import { defineStep } from "./types.js";

export const timezoneStep = defineStep({
  kind: "timezone",
  schema: z
    .string()
    .regex(/^(UTC|[A-Z][A-Za-z_+-]+(\/[A-Za-z0-9_+-]+){1,2})$/, "a zone such as Europe/Berlin")
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
