/**
 * `services: { enable: [...], disable: [...], mask: [...] }` sets systemd units up to start (or
 * not) at boot, with `systemctl`, which works offline in an image. Needs systemd in the image.
 */
import { q, type StepHandler } from "./types.js";

export const servicesStep: StepHandler<"services"> = {
  kind: "services",
  async run(ctx, services) {
    const lines = [
      'command -v systemctl >/dev/null || { echo "services: systemctl is not in the image (install systemd)" >&2; exit 1; }',
    ];
    for (const verb of ["enable", "disable", "mask"] as const) {
      const units = services[verb] ?? [];
      if (units.length > 0) lines.push(`systemctl ${verb} ${units.map(q).join(" ")}`);
    }
    await ctx.sh(lines.join("\n"));
  },
};
