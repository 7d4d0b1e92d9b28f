/**
 * `timezone: Area/City` sets /etc/localtime and /etc/timezone, installing tzdata when the image
 * lacks it. An unknown zone fails the step.
 */
import { q, type StepHandler } from "./types.js";

export const timezoneStep: StepHandler<"timezone"> = {
  kind: "timezone",
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
};
