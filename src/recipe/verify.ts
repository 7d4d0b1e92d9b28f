/**
 * The semantic half of recipe checking (the schema is the other half): references between
 * layers, cycles, duplicate names, stage variables, and `copy` sources that must exist inside
 * the recipe's directory. It collects every problem; nothing here has side effects.
 */
import { existsSync, realpathSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";
import { STAGE_NAMES, STAGES } from "../steps/stages.js";
import { type FieldPath, suggest } from "./locate.js";
import type { DiskOutput, Recipe, Tests } from "./schema.js";
import { MIB, parseSize } from "./size.js";
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

/** Whether `child` is `root` or inside it, after resolving symbolic links. */
export function isInside(root: string, child: string): boolean {
  const rel = relative(realpathSync(root), realpathSync(child));
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

export function verifyRecipe(recipe: Recipe, dir: string, vars: Vars): SemanticProblem[] {
  const problems: SemanticProblem[] = [];
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
        hint: "give it `bootstrap: { variant: minbase, packages: [...] }`",
      });
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

    layer.stages?.forEach((stage, s) => {
      const def = STAGES[stage];
      if (!def) {
        problems.push({
          path: [...at, "stages", s],
          message: `unknown stage '${stage}'`,
          hint: didYouMean(stage, STAGE_NAMES) ?? `stages are: ${STAGE_NAMES.join(", ")}`,
        });
        return;
      }
      for (const need of def.needs) {
        if (!vars[need]) {
          problems.push({
            path: [...at, "stages", s],
            message: `stage '${stage}' needs the variable '${need}'`,
            hint: `add \`${need}: ...\` under vars, or pass --set ${need}=...`,
          });
        }
      }
    });

    layer.steps?.forEach((step, s) => {
      if (!step.copy) return;
      const path: FieldPath = [...at, "steps", s, "copy", "from"];
      const from = step.copy.from;
      const source = resolve(dir, from);
      if (isAbsolute(from)) {
        problems.push({
          path,
          message: `'${from}' is absolute`,
          hint: "copy sources are relative to the recipe's directory",
        });
      } else if (!existsSync(source)) {
        problems.push({
          path,
          message: `'${from}' does not exist (looked for ${source})`,
          hint: "copy sources are relative to the recipe's directory",
        });
      } else if (!isInside(dir, source)) {
        problems.push({
          path,
          message: `'${from}' is outside the recipe's directory`,
          hint: "keep every file a recipe copies beside the recipe, so its digest covers them",
        });
      }
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
    if (cur === l.name && !reported.has(l.name)) {
      for (const n of path) reported.add(n);
      problems.push({
        path: ["layers", i, l.from !== undefined ? "from" : "name"],
        message: `layers form a cycle: ${[...path, l.name].join(" → ")}`,
        hint: "every chain of `from` must end at a layer with `bootstrap`",
      });
    }
  });

  const outputNames = new Map<string, number>();
  recipe.outputs.forEach((output, i) => {
    if (output.layer !== undefined && !names.includes(output.layer)) {
      problems.push({
        path: ["outputs", i, "layer"],
        message: `unknown layer '${output.layer}'`,
        hint: didYouMean(output.layer, names) ?? `layers are: ${names.join(", ")}`,
      });
    }
    const fileName = `${output.type}:${output.name ?? output.layer ?? names.at(-1)}`;
    const other = outputNames.get(fileName);
    if (other !== undefined) {
      problems.push({
        path: ["outputs", i],
        message: `outputs[${other}] writes the same ${output.type} output`,
        hint: "give one of them a `name`",
      });
    } else outputNames.set(fileName, i);
    if (output.type === "disk") problems.push(...diskProblems(recipe, output, i));
  });
  if (recipe.tests) problems.push(...testsProblems(recipe));

  return problems;
}

function diskProblems(recipe: Recipe, output: DiskOutput, i: number): SemanticProblem[] {
  const problems: SemanticProblem[] = [];
  const arch = recipe.distro.arch;
  if (arch === "armhf") {
    problems.push({
      path: ["outputs", i, "type"],
      message: "disk images are made for amd64 and arm64; armhf is not supported yet",
      hint: "use `distro.arch: arm64`, or a `tar` output for armhf",
    });
  } else if (output.boot === "bios" && arch !== "amd64") {
    problems.push({
      path: ["outputs", i, "boot"],
      message: `boot: bios is not supported on ${arch}`,
      hint: "use `boot: uefi` (systemd-boot); BIOS booting exists only on amd64 PCs",
    });
  }
  for (const key of ["size", "esp_size"] as const) {
    const value = output[key];
    if (value !== undefined && parseSize(value) < 16 * MIB) {
      problems.push({
        path: ["outputs", i, key],
        message: `${key} ${value} is too small`,
        hint: "sizes are bytes unless they carry a unit: write 2G, 512M…",
      });
    }
  }
  return problems;
}

function testsProblems(recipe: Recipe): SemanticProblem[] {
  const tests = recipe.tests as Tests;
  const problems: SemanticProblem[] = [];
  const disks = recipe.outputs
    .map((o, i) => ({ o, i }))
    .filter(({ o }) => o.type === "disk")
    .map(({ o }) => o.name ?? o.layer ?? recipe.layers.at(-1)?.name ?? "");
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
