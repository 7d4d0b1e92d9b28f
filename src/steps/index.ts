/**
 * The step registry: one definition per step kind, each in its own file. The recipe schema
 * (`Step`), the semantic checks, the cache keys and the build all go through here, so a new
 * step is one new file and one line below. The order below is the order of the JSON Schema's
 * properties and of STEP_KINDS.
 */
import { z } from "zod";
import type { Step } from "../recipe/schema.js";
import type { SemanticProblem } from "../recipe/verify.js";
import { copyStep } from "./copy.js";
import { groupsStep } from "./groups.js";
import { hostnameStep } from "./hostname.js";
import { localeStep } from "./locale.js";
import { packagesStep } from "./packages.js";
import { removeStep } from "./remove.js";
import { runStep } from "./run.js";
import { servicesStep } from "./services.js";
import { timezoneStep } from "./timezone.js";
import type { CacheEnv, StepContext, StepDefinition, VerifyEnv } from "./types.js";
import { usersStep } from "./users.js";
import { writeStep } from "./write.js";

/** Checks at compile time that every definition is filed under its own kind. */
const registry = <T extends { [K in keyof T]: StepDefinition<K & string> }>(steps: T): T => steps;

export const STEPS = registry({
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
});

export type StepKind = keyof typeof STEPS;

/** The definition of `kind`, with its value type erased (the schema has checked it). */
export const definitionOf = (kind: StepKind): StepDefinition => STEPS[kind];

/** A written step's own checks (paths relative to the step). */
export function verifyStep(kind: StepKind, step: Step, env: VerifyEnv): SemanticProblem[] {
  return definitionOf(kind).verify?.(step[kind], env) ?? [];
}

/** What a step puts in its layer's cache-key manifest: the step itself unless it says otherwise. */
export async function stepCacheInput(kind: StepKind, step: Step, env: CacheEnv): Promise<unknown> {
  const def = definitionOf(kind);
  return def.cacheInput ? { [kind]: await def.cacheInput(step[kind], env) } : step;
}

/**
 * Where each step's value holds objects, and their keys, for "did you mean" hints on unknown
 * keys: `["copy", [from, to, mode, owner]]`, `["users/#", [name, uid, ...]]` (`#`: any index).
 */
export function stepObjectKeys(): [string, string[]][] {
  const walk = (schema: z.ZodType, at: string): [string, string[]][] => {
    if (schema instanceof z.ZodObject) return [[at, Object.keys(schema.shape)]];
    if (schema instanceof z.ZodArray) return walk(schema.element as z.ZodType, `${at}/#`);
    if (schema instanceof z.ZodOptional) return walk(schema.unwrap() as z.ZodType, at);
    if (schema instanceof z.ZodUnion) {
      return (schema.options as z.ZodType[]).flatMap((option) => walk(option, at));
    }
    return [];
  };
  return Object.values(STEPS).flatMap((def: StepDefinition) => walk(def.schema, def.kind));
}

export async function runStepHandler(ctx: StepContext, kind: StepKind, step: Step): Promise<void> {
  await definitionOf(kind).run(ctx, step[kind]);
}
