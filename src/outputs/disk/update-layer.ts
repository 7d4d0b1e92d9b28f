/**
 * The update layer: what a disk output adds on top of its stack when the recipe has `update:`.
 * It holds files only (no package is installed, so the dpkg database of the layers below is
 * not touched): the device agent `strata-update` (assets/update/strata-update, POSIX sh, using
 * apt's own HTTP client and signature verifier, which every Debian image has), its
 * configuration, the recipe's keyring, the recipe's `health:` checks and the units that run
 * them at a trial boot (strata-health.service) and, with `update.timer`, that look for updates
 * (strata-update.timer).
 *
 * Its files do not depend on the layers below, and their timestamps are the build's epoch, so
 * its module is byte for byte the same on any application layer: an update that changes the
 * application layer does not fetch a new update layer (the store keeps layers by digest).
 */
import { readFileSync } from "node:fs";
import type { ResolvedLayer } from "../../recipe/graph.js";
import type { HealthCheck, Recipe, Step, Update } from "../../recipe/schema.js";
import { addedLayer } from "../added-layer.js";

const AGENT = new URL("../../../../assets/update/strata-update", import.meta.url);

/** The role under which a disk finds its update layer's stack (OutputInput.added). */
export const UPDATE_ROLE = "update";
export const AGENT_PATH = "/usr/sbin/strata-update";
export const UPDATE_CONF = "/etc/strata/update.conf";
export const UPDATE_KEYRING = "/etc/strata/update-keyring.pgp";
export const HEALTH_DIR = "/usr/lib/strata/health.d";
/** Read by the boot script (assets/initramfs-tools/scripts/strata) on a persistent root */
export const DATA_DIRS = "/etc/strata/data-dirs";

const UNITS: Record<string, string> = {
  // Before boot-complete.target and required by it, as systemd's boot assessment wants: in an
  // image that also has systemd-bless-boot, a failed check keeps it from blessing the entry.
  "strata-health.service": `[Unit]
Description=strata: check this version on its trial boot, then keep it or fall back
After=multi-user.target
Before=boot-complete.target
ConditionPathExists=/run/strata/version

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=${AGENT_PATH} health
# Why a version is kept or rejected shows at the console too, not only in the journal.
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
RequiredBy=boot-complete.target
`,
  "strata-update.service": `[Unit]
Description=strata: fetch and apply an update
Wants=network-online.target
After=network-online.target strata-health.service

[Service]
Type=oneshot
ExecStart=${AGENT_PATH} apply
# 3: the channel's version is already applied
SuccessExitStatus=3
`,
  "strata-update.timer": `[Unit]
Description=strata: look for an update every day

[Timer]
OnBootSec=10min
OnUnitActiveSec=1d
RandomizedDelaySec=1h

[Install]
WantedBy=timers.target
`,
};

export function updateConf(update: Update, recipe: Recipe): string {
  return [
    "# Written by strata from the recipe's `update:`; read by strata-update.",
    `url=${update.url.replace(/\/+$/, "")}`,
    `channel=${update.channel}`,
    `recipe=${recipe.name}`,
    `arch=${recipe.distro.arch}`,
    // boot= is left out: the agent tells UEFI from BIOS by /sys/firmware/efi.
    `keyring=${UPDATE_KEYRING}`,
    "",
  ].join("\n");
}

const lines = (v: string | string[] | undefined) =>
  v === undefined ? undefined : `${(Array.isArray(v) ? v : [v]).join("\n")}\n`;

/** One directory per check, in the layout strata-update's `health` reads. */
function healthSteps(checks: readonly HealthCheck[]): Step[] {
  const steps: Step[] = [];
  checks.forEach((c, i) => {
    const dir = `${HEALTH_DIR}/${String(i + 1).padStart(2, "0")}`;
    const files: Record<string, string | undefined> = {
      name: `${c.name}\n`,
      run: `${c.run}\n`,
      status: `${c.status}\n`,
      timeout: `${c.timeout}\n`,
      output: lines(c.output),
      not_output: lines(c.not_output),
    };
    for (const [file, content] of Object.entries(files)) {
      if (content !== undefined) steps.push({ write: { path: `${dir}/${file}`, content } });
    }
  });
  return steps;
}

export function updateLayerSteps(recipe: Recipe): Step[] {
  const update = recipe.update as Update;
  const steps: Step[] = [
    { write: { path: AGENT_PATH, content: readFileSync(AGENT, "utf8"), mode: "0755" } },
    { write: { path: UPDATE_CONF, content: updateConf(update, recipe) } },
    { copy: { from: update.keyring, to: UPDATE_KEYRING, mode: "0644" } },
    ...healthSteps(recipe.health ?? []),
  ];
  if (update.data.length > 0) {
    steps.push({ write: { path: DATA_DIRS, content: `${update.data.join("\n")}\n` } });
  }
  for (const [unit, content] of Object.entries(UNITS)) {
    steps.push({ write: { path: `/usr/lib/systemd/system/${unit}`, content } });
  }
  const enable = ["strata-health.service", ...(update.timer ? ["strata-update.timer"] : [])];
  steps.push({ services: { enable } });
  return steps;
}

/** The update layer as a layer of the build, on the output's top layer `on`. */
export function updateLayer(on: ResolvedLayer, recipe: Recipe): ResolvedLayer {
  return addedLayer(on, `${on.name}.update`, updateLayerSteps(recipe), "update layer", "update");
}
