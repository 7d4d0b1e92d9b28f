/**
 * `services: { enable: [...], disable: [...], mask: [...] }` sets systemd units up to start (or
 * not) at boot, with `systemctl`, which works offline in an image. Needs systemd in the image.
 */
import { z } from "zod";
import { q } from "../host/shell.js";
import { defineStep } from "./types.js";

export const ServicesStep = z
  .strictObject({
    enable: z.array(z.string()).optional(),
    disable: z.array(z.string()).optional(),
    mask: z.array(z.string()).optional(),
  })
  .describe("systemd units to enable, disable or mask");

export const servicesStep = defineStep({
  kind: "services",
  schema: ServicesStep,
  doc: "`systemctl` unit states",
  describe: (services) => Object.keys(services).join(","),
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
});
