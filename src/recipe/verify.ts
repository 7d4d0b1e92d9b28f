/**
 * The semantic half of recipe checking (the schema is the other half): references between
 * layers, cycles, duplicate names, output files that would take the place of strata's own or of
 * each other, and what stages and steps check of themselves (recipe/stages.ts, each step's
 * `verify`: e.g. a `copy` source must exist inside the recipe's directory). It collects every
 * problem; nothing here has side effects. It also runs on a recipe that failed the schema, on
 * the parts that passed (./salvage.ts), so `validate` reports both kinds at once.
 */
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { outputPlugin } from "../outputs/index.js";
import { sourceProblem } from "../steps/copy.js";
import { ociSourceProblem } from "../oci/source.js";
import { verifyStep } from "../steps/index.js";
import { stepKind } from "./graph.js";
import { type FieldPath, formatPath, suggest } from "./locate.js";
import { outputFiles, reservedReason } from "./output-files.js";
import { outputName } from "./outputs.js";
import { isOciBootstrap, type Recipe, type Tests } from "./schema.js";
import { stageProblems } from "./stages.js";
import type { Vars } from "./vars.js";

export interface SemanticProblem {
  path: FieldPath;
  message: string;
  hint?: string;
  /** Point at this key of the map at `path` rather than at its value. */
  key?: string;
}

const didYouMean = (word: string, choices: readonly string[]): string | undefined => {
  const s = suggest(word, choices);
  return s ? `did you mean '${s}'?` : undefined;
};

export interface VerifyOptions {
  /** Vars whose value came from `--set`: their problems are reported where they are used. */
  fromSet?: ReadonlySet<string>;
}

export function verifyRecipe(
  recipe: Recipe,
  dir: string,
  vars: Readonly<Vars>,
  options: VerifyOptions = {},
): SemanticProblem[] {
  const problems: SemanticProblem[] = [];
  const fromSet = options.fromSet ?? new Set<string>();
  const names = recipe.layers.map((l) => l.name);
  const seen = new Map<string, number>();

  recipe.layers.forEach((layer, i) => {
    const at: FieldPath = ["layers", i];
    const first = seen.get(layer.name);
    if (first !== undefined) {
      problems.push({
        path: [...at, "name"],
        message: `duplicate layer name '${layer.name}' (also layers[${first}])`,
        hint: "give every layer its own name",
      });
    } else seen.set(layer.name, i);

    if (i === 0 && !layer.bootstrap && layer.from === undefined) {
      problems.push({
        path: at,
        message: "the first layer has nothing to sit on",
        hint: "give it `bootstrap: { variant: minbase, packages: [...] }` (or `bootstrap: { oci: IMAGE }`)",
      });
    }
    if (isOciBootstrap(layer.bootstrap)) {
      const problem = ociSourceProblem(layer.bootstrap.oci, dir);
      if (problem) problems.push({ path: [...at, "bootstrap", "oci"], ...problem });
    }
    if (layer.bootstrap && layer.from) {
      problems.push({
        path: [...at, "from"],
        message: "a bootstrap layer starts a new stack and cannot sit on another layer",
        hint: "remove `from`, or remove `bootstrap`",
      });
    }
    if (layer.from !== undefined) {
      if (!names.includes(layer.from)) {
        problems.push({
          path: [...at, "from"],
          message: `unknown layer '${layer.from}'`,
          hint: didYouMean(layer.from, names) ?? `layers are: ${names.join(", ")}`,
        });
      } else if (layer.from === layer.name) {
        problems.push({ path: [...at, "from"], message: "a layer cannot sit on itself" });
      }
    }

    // Stages and steps check themselves (src/recipe/stages.ts, each step's `verify`).
    layer.stages?.forEach((stage, s) => {
      const origin = { at: [...at, "stages", s], fromSet };
      for (const p of stageProblems(stage, { dir, vars }, origin))
        problems.push({ ...p, path: p.path ?? origin.at });
    });
    layer.steps?.forEach((step, s) => {
      for (const p of verifyStep(stepKind(step), step, { dir, vars }))
        problems.push({ ...p, path: [...at, "steps", s, ...p.path] });
    });
  });

  // Cycles through `from` (a layer may name a later one, so order alone does not prevent them).
  const parent = new Map<string, string | undefined>();
  recipe.layers.forEach((l, i) => {
    parent.set(l.name, l.bootstrap ? undefined : (l.from ?? recipe.layers[i - 1]?.name));
  });
  const reported = new Set<string>();
  recipe.layers.forEach((l, i) => {
    const path: string[] = [];
    let cur: string | undefined = l.name;
    while (cur !== undefined && !path.includes(cur)) {
      path.push(cur);
      cur = parent.get(cur);
    }
    // A layer on itself is reported above, once.
    if (cur === l.name && path.length > 1 && !reported.has(l.name)) {
      for (const n of path) reported.add(n);
      problems.push({
        path: ["layers", i, l.from !== undefined ? "from" : "name"],
        message: `layers form a cycle: ${[...path, l.name].join(" → ")}`,
        hint: "every chain of `from` must end at a layer with `bootstrap`",
      });
    }
  });

  problems.push(...outputFileProblems(recipe));
  recipe.outputs.forEach((output, i) => {
    if (output.layer !== undefined && !names.includes(output.layer)) {
      problems.push({
        path: ["outputs", i, "layer"],
        message: `unknown layer '${output.layer}'`,
        hint: didYouMean(output.layer, names) ?? `layers are: ${names.join(", ")}`,
      });
    }
    for (const p of outputPlugin(output).verify?.(output, { recipe, index: i }) ?? [])
      problems.push({ ...p, path: ["outputs", i, ...p.path] });
  });
  if (recipe.tests) problems.push(...testsProblems(recipe));
  problems.push(...updateProblems(recipe, dir));

  // One bad var used by two stages is one problem.
  const seenProblems = new Set<string>();
  return problems.filter((p) => {
    const id = `${formatPath(p.path)}\n${p.message}`;
    if (seenProblems.has(id)) return false;
    seenProblems.add(id);
    return true;
  });
}

/** Output files that would take the place of strata's own files or of another output's. */
function outputFileProblems(recipe: Recipe): SemanticProblem[] {
  const problems: SemanticProblem[] = [];
  const owner = new Map<string, number>();
  recipe.outputs.forEach((output, i) => {
    const path: FieldPath = output.name !== undefined ? ["outputs", i, "name"] : ["outputs", i];
    const hint = "give the output another `name`";
    const files = outputFiles(output, outputName(recipe, output));
    // One problem per output: its first file that is taken.
    for (const file of files) {
      const reserved = reservedReason(file);
      const other = owner.get(file);
      if (reserved) {
        problems.push({ path, message: `the output would write ${reserved}`, hint });
        return;
      }
      if (other !== undefined) {
        problems.push({ path, message: `outputs[${other}] writes the same file, ${file}`, hint });
        return;
      }
    }
    for (const file of files) owner.set(file, i);
  });
  return problems;
}

/** `update` and `health`: a keyring beside the recipe, and disks that can take updates. */
function updateProblems(recipe: Recipe, dir: string): SemanticProblem[] {
  const problems: SemanticProblem[] = [];
  if (!recipe.update) {
    if (recipe.health) {
      problems.push({
        path: ["health"],
        message: "health checks run at the trial boot of an update, and the recipe has no `update`",
        hint: "add `update: { url: http://..., keyring: keys/update.pub }`, or remove `health`",
      });
    }
    return problems;
  }
  const keyring = sourceProblem(recipe.update.keyring, dir);
  if (keyring) {
    problems.push({
      path: ["update", "keyring"],
      message: keyring.message.replace(/^'/, "the keyring '"),
      hint: "make one with `strata key generate --out keys/update` and name keys/update.pub",
    });
  } else if (!statSync(resolve(dir, recipe.update.keyring)).isFile()) {
    problems.push({
      path: ["update", "keyring"],
      message: `'${recipe.update.keyring}' is not a file`,
      hint: "name the .pub file that `strata key generate` wrote",
    });
  }
  recipe.outputs.forEach((o, i) => {
    // An ISO's installed disk takes updates as a disk output does.
    const output = o.type === "iso" ? o.disk : o.type === "disk" ? o : undefined;
    const at = o.type === "iso" ? ["outputs", i, "disk"] : ["outputs", i];
    if (!output) return;
    if (o.type === "disk" && o.board) {
      problems.push({
        path: [...at, "board"],
        message:
          "a Raspberry Pi image cannot take updates yet: strata does not yet drive the Pi firmware's tryboot, which would give a new version one trial boot",
        hint: "leave `update` out of a recipe with a `board` disk, or build the board's image from a recipe of its own",
      });
    } else if (output.root === "flat") {
      problems.push({
        path: [...at, "root"],
        message: "a flat root cannot be updated by layers: it has no store",
        hint: "use `root: immutable` or `root: persistent` with `update`",
      });
    } else if (output.boot === "bios" && output.filesystem === "btrfs") {
      // GRUB notes a BIOS trial boot in grubenv with save_env, which it refuses on btrfs.
      problems.push({
        path: [...at, "filesystem"],
        message:
          "a BIOS image takes updates through GRUB's environment block, which GRUB cannot write on btrfs",
        hint: "use `filesystem: ext4` for a BIOS image with `update`, or `boot: uefi`",
      });
    }
  });
  return problems;
}

function testsProblems(recipe: Recipe): SemanticProblem[] {
  const tests = recipe.tests as Tests;
  const problems: SemanticProblem[] = [];
  const disks = recipe.outputs
    .map((o, i) => ({ o, i }))
    .filter(({ o }) => o.type === "disk")
    .map(({ o }) => outputName(recipe, o));
  if (disks.length === 0) {
    problems.push({
      path: ["tests"],
      message: "tests need a disk output to boot",
      hint: "add `- { type: disk }` to `outputs`",
    });
  } else if (tests.output !== undefined && !disks.includes(tests.output)) {
    problems.push({
      path: ["tests", "output"],
      message: `no disk output is named '${tests.output}'`,
      hint: didYouMean(tests.output, disks) ?? `disk outputs are: ${disks.join(", ")}`,
    });
  }
  tests.checks.forEach((check, c) => {
    for (const key of ["output", "not_output"] as const) {
      const patterns = check[key];
      for (const p of typeof patterns === "string" ? [patterns] : (patterns ?? [])) {
        try {
          new RegExp(p, "m");
        } catch (e) {
          problems.push({
            path: ["tests", "checks", c, key],
            message: `not a regular expression: ${(e as Error).message}`,
            hint: "patterns are JavaScript regular expressions; escape ( [ . with a backslash",
          });
        }
      }
    }
  });
  return problems;
}
