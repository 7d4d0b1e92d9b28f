/** A fake build report for the report tests: 3 layers (one cached, one whose step label,
 * reason and name are hostile HTML), 2 outputs. Pass overrides to vary it. */
import type { BuildReport, LayerReport } from "../../src/report/schema.js";

export const HOSTILE_LABEL = `<script>document.body.setAttribute("data-pwned","1")</script>`;
export const HOSTILE_REASON = `<img src=x onerror="document.body.setAttribute('data-pwned','2')">`;
export const HOSTILE_NAME = `app"><b>&amp;`;

const pkgs = (
  added: [string, string][] = [],
  removed: [string, string][] = [],
  changed: [string, string, string][] = [],
): LayerReport["packages"] => ({
  added: added.map(([name, version]) => ({ name, version })),
  removed: removed.map(([name, version]) => ({ name, version })),
  changed: changed.map(([name, from, to]) => ({ name, from, to })),
});

export function fakeReport(over: Partial<BuildReport> = {}): BuildReport {
  return {
    format: "strata-report/1",
    recipe: "kiosk",
    distro: { suite: "trixie", arch: "amd64" },
    startTime: "2025-06-01T12:00:00.000Z",
    seconds: 100,
    strataVersion: "0.1.0",
    layers: [
      {
        name: "base",
        parent: null,
        key: "a".repeat(64),
        status: "cached",
        reason: "cache hit",
        origin: "recipe",
        startedAt: 0,
        seconds: 0,
        steps: [],
        bytes: 40 * 1024 * 1024,
        packages: pkgs([
          ["systemd-sysv", "257.7-1"],
          ["udev", "257.7-1"],
        ]),
      },
      {
        name: "system",
        parent: "base",
        key: "b".repeat(64),
        status: "built",
        reason: "steps[1] changed",
        origin: "recipe",
        startedAt: 0,
        seconds: 60,
        steps: [
          { label: "packages: openssh-server iproute2", seconds: 40 },
          { label: "stage hostname", seconds: 5 },
          { label: "pack", seconds: 15 },
        ],
        bytes: 20 * 1024 * 1024,
        packages: pkgs(
          [["openssh-server", "1:10.0p1-7"]],
          [["vim-tiny", "2:9.1.1230-2"]],
          [["libc6", "2.41-11", "2.41-12"]],
        ),
      },
      {
        name: HOSTILE_NAME,
        parent: "system",
        key: "c".repeat(64),
        status: "built",
        reason: HOSTILE_REASON,
        origin: "disk",
        startedAt: 60,
        seconds: 30,
        steps: [
          { label: HOSTILE_LABEL, seconds: 20 },
          { label: "pack", seconds: 10 },
        ],
        bytes: 10 * 1024 * 1024,
        packages: pkgs(),
      },
    ],
    outputs: [
      {
        type: "dir",
        name: "dir",
        layer: HOSTILE_NAME,
        path: "/out/dir",
        bytes: 70 * 1024 * 1024,
        startedAt: 90,
        seconds: 4,
      },
      {
        type: "disk",
        name: "disk",
        layer: HOSTILE_NAME,
        path: "/out/kiosk.img",
        bytes: 1024 * 1024 * 1024,
        startedAt: 94,
        seconds: 6,
      },
    ],
    ...over,
  };
}
