/** The step registry: one handler per step kind, each in its own file. */
import type { Step, StepKind } from "../recipe/schema.js";
import { copyStep } from "./copy.js";
import { groupsStep } from "./groups.js";
import { hostnameStep } from "./hostname.js";
import { localeStep } from "./locale.js";
import { packagesStep } from "./packages.js";
import { removeStep } from "./remove.js";
import { runStep } from "./run.js";
import { servicesStep } from "./services.js";
import { timezoneStep } from "./timezone.js";
import type { StepContext, StepHandler } from "./types.js";
import { usersStep } from "./users.js";
import { writeStep } from "./write.js";

const HANDLERS: { [K in StepKind]: StepHandler<K> } = {
  packages: packagesStep,
  remove: removeStep,
  copy: copyStep,
  write: writeStep,
  run: runStep,
  services: servicesStep,
  users: usersStep,
  groups: groupsStep,
  hostname: hostnameStep,
  timezone: timezoneStep,
  locale: localeStep,
};

export async function runStepHandler(ctx: StepContext, kind: StepKind, step: Step): Promise<void> {
  const handler = HANDLERS[kind] as StepHandler;
  await handler.run(ctx, step[kind] as never);
}
