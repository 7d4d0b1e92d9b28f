/**
 * Stages: named, reusable fragments of a layer (pi-builder's idea), each expanding to ordinary
 * steps from the recipe's vars. `stages: [hostname, timezone]` reads `vars.hostname` and
 * `vars.timezone`.
 *
 * | stage          | needs vars                 | does                                           |
 * |----------------|----------------------------|------------------------------------------------|
 * | hostname       | hostname                   | /etc/hostname and /etc/hosts                   |
 * | timezone       | timezone                   | /etc/localtime, /etc/timezone (installs tzdata)|
 * | locale         | locale                     | generates and selects it (installs locales)    |
 * | serial-console | serial_console (ttyS0)     | a getty on the serial console                  |
 * | ssh-keys       | ssh_authorized_keys        | root's authorized_keys (one key per line)      |
 * | cleanup        | –                          | drops docs, man pages and apt's caches         |
 */
import type { Step } from "../recipe/schema.js";
import type { Vars } from "../recipe/vars.js";

interface Stage {
  needs: string[];
  optional?: Record<string, string>;
  expand(vars: Vars): Step[];
}

const v = (vars: Vars, key: string): string => vars[key] ?? "";

export const STAGES: Record<string, Stage> = {
  hostname: { needs: ["hostname"], expand: (vars) => [{ hostname: v(vars, "hostname") }] },
  timezone: { needs: ["timezone"], expand: (vars) => [{ timezone: v(vars, "timezone") }] },
  locale: { needs: ["locale"], expand: (vars) => [{ locale: v(vars, "locale") }] },
  "serial-console": {
    needs: [],
    optional: { serial_console: "ttyS0" },
    expand: (vars) => [
      { services: { enable: [`serial-getty@${vars.serial_console ?? "ttyS0"}.service`] } },
    ],
  },
  "ssh-keys": {
    needs: ["ssh_authorized_keys"],
    expand: (vars) => [
      {
        users: [
          {
            name: "root",
            ssh_authorized_keys: v(vars, "ssh_authorized_keys")
              .split("\n")
              .map((k) => k.trim())
              .filter((k) => k !== ""),
          },
        ],
      },
    ],
  },
  cleanup: {
    needs: [],
    expand: () => [
      {
        run: {
          name: "cleanup",
          script:
            "apt-get clean\nrm -rf /usr/share/doc/* /usr/share/man/* /usr/share/info/* /var/lib/apt/lists/*\n",
        },
      },
    ],
  },
};

export const STAGE_NAMES = Object.keys(STAGES);
