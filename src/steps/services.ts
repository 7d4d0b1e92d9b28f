/**
 * `services: { enable: [...], disable: [...], mask: [...] }` sets systemd units up to start (or
 * not) at boot, with `systemctl`, which works offline in an image. Needs systemd in the image.
 * Units are named as systemd names them (letters, digits, `:-_.\@`; `foo` means foo.service).
 */
import { z } from "zod";
import { q } from "../host/shell.js";
import { defineStep } from "./types.js";

const unit = z
  .string()
  .max(255)
  .regex(
    /^[A-Za-z0-9:_.\\@-]+$/,
    "a systemd unit name, e.g. ssh.service or serial-getty@ttyS0.service",
  );

export const ServicesStep = z
  .strictObject({
    enable: z.array(unit).optional(),
    disable: z.array(unit).optional(),
    mask: z.array(unit).optional(),
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
