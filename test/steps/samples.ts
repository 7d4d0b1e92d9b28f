// One valid value of every step kind, shared by the step tests.
import type { StepKind } from "../../src/steps/index.js";

/** One valid value of every kind. */
export const SAMPLES: Record<StepKind, unknown> = {
  packages: ["curl", "vim=2:9.1"],
  remove: ["nano"],
  copy: { from: "files/app", to: "/opt/app" },
  write: { path: "/etc/motd", content: "hi\n" },
  run: "echo hi",
  services: { enable: ["ssh.service"] },
  users: [{ name: "app", uid: 1000 }],
  groups: [{ name: "web" }],
  hostname: "kiosk",
  timezone: "Europe/Berlin",
  locale: "en_US.UTF-8",
};
