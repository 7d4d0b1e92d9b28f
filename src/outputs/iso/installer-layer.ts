/**
 * The installer layer (`installer: true`): files only, on the output's top layer, stacked on
 * the live system and never part of the installed disk: `strata-install`
 * (assets/install/strata-install) and the unit that runs it unattended when the kernel command
 * line names a disk (`strata.install=/dev/vda strata.install.poweroff`).
 */
import { readFileSync } from "node:fs";
import type { ResolvedLayer } from "../../recipe/graph.js";
import type { Step } from "../../recipe/schema.js";
import { addedLayer } from "../added-layer.js";

export const INSTALLER_ROLE = "installer";
const AGENT = new URL("../../../../assets/install/strata-install", import.meta.url);

const UNIT = `[Unit]
Description=strata: install this system onto the disk strata.install= names
ConditionKernelCommandLine=strata.install
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/sbin/strata-install --from-cmdline
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
`;

export function installerSteps(): Step[] {
  return [
    // sfdisk moves a GPT's backup header to the end of the disk written.
    { packages: ["fdisk"] },
    {
      write: {
        path: "/usr/sbin/strata-install",
        content: readFileSync(AGENT, "utf8"),
        mode: "0755",
      },
    },
    { write: { path: "/usr/lib/systemd/system/strata-install.service", content: UNIT } },
    { services: { enable: ["strata-install.service"] } },
  ];
}

export function installerLayer(on: ResolvedLayer): ResolvedLayer {
  return addedLayer(on, `${on.name}.installer`, installerSteps(), "installer layer", "outputs");
}
