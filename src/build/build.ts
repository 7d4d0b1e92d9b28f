/**
 * `strata build`: check everything first (recipe, host tools, kernel, output names), then build
 * each layer whose key is not in the cache (and every layer above it), write the modules,
 * manifest.json and the outputs. Cleanups run in reverse order however the build ends.
 */
import {
  constants,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { differences } from "../cache/canonical.js";
import type { CacheEntry } from "../cache/store.js";
import { StrataError } from "../errors.js";
import { isForeign } from "../host/binfmt.js";
import { requireKernel, requireRoot, requireTools, type ToolName } from "../host/tools.js";
import { outputType } from "../outputs/index.js";
import { defaultReporter } from "../progress.js";
import { type ResolvedLayer, stackOf } from "../recipe/graph.js";
import { type LoadedRecipe, loadRecipe } from "../recipe/load.js";
import { BuildContext, type BuildOptions, resolveSettings } from "./context.js";
import { diffPackages, type PackageChanges } from "./dpkg.js";
import { layerKeys } from "./keys.js";
import { buildLayer } from "./layer.js";

export interface LayerResult {
  name: string;
  parent: string | null;
  /** Module file under the output directory, e.g. 02-system.sqfs */
  file: string;
  key: string;
  digest: string;
  bytes: number;
  cached: boolean;
  seconds: number;
  /** Why the layer was (or was not) rebuilt. */
  reason: string;
  packages: PackageChanges;
}

export interface BuildResult {
  recipe: string;
  out: string;
  manifest: string;
  layers: LayerResult[];
  outputs: { type: string; layer: string; path: string }[];
  /** Peak resident memory of the strata process itself (not of the tools it ran). */
  peakMemoryBytes: number;
}

const OUT_MARKER = ".strata-out";

export function requiredTools(recipe: LoadedRecipe): ToolName[] {
  const tools: ToolName[] = [
    "mmdebstrap",
    "bwrap",
    "mksquashfs",
    "unshare",
    "nsenter",
    "setpriv",
    "mount",
    "umount",
  ];
  if (isForeign(recipe.recipe.distro.arch))
    tools.push(recipe.recipe.distro.arch === "armhf" ? "qemuArm" : "qemuAarch64");
  for (const o of recipe.recipe.outputs) tools.push(...outputType(o).tools(o));
  return [...new Set(tools)];
}

/** Host checks that must pass before anything is built. */
export function checkHost(recipe: LoadedRecipe): void {
  requireRoot();
  requireTools(requiredTools(recipe));
  requireKernel([
    "overlay",
    "squashfs",
    "loop devices",
    ...(isForeign(recipe.recipe.distro.arch) ? ["binfmt_misc"] : []),
  ]);
}

function prepareOutDir(out: string): void {
  if (existsSync(out) && readdirSync(out).length > 0 && !existsSync(join(out, OUT_MARKER))) {
    throw new StrataError("E_OUTPUT", `${out} is not empty and was not written by strata`, {
      hint: "pass another --out directory; strata never overwrites what it did not write",
    });
  }
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, OUT_MARKER),
    "This directory is written by strata build; its contents are replaced.\n",
  );
}

function placeModule(entry: CacheEntry, target: string): void {
  rmSync(target, { force: true });
  try {
    linkSync(entry.module, target);
  } catch {
    copyFileSync(entry.module, target, constants.COPYFILE_FICLONE);
  }
}

function explain(
  previous: { key: string; manifest: unknown } | undefined,
  manifest: unknown,
  key: string,
  parentRebuilt: string | undefined,
  forced: boolean,
): string {
  if (forced) return "rebuilt: forced by --rebuild";
  if (!previous) return "built: no earlier build of this layer is recorded in the cache";
  if (previous.key === key) return "built: its cached module was removed (cache gc?)";
  const changed = differences(previous.manifest, manifest).filter((d) => !d.startsWith("parent "));
  const parts: string[] = [];
  if (parentRebuilt) parts.push(`layer '${parentRebuilt}' below it was rebuilt`);
  if (changed.length > 0) parts.push(`changed: ${changed.join(", ")}`);
  return `rebuilt: ${parts.join("; ") || "its inputs changed"}`;
}

/** Builds (or finds in the cache) `layers`, parents first; the caller holds the cache lock. */
export async function buildLayers(
  ctx: BuildContext,
  recipe: LoadedRecipe,
  layers: readonly ResolvedLayer[],
  options: BuildOptions,
  /** Layers of `layers` already at hand (built or found earlier in this build). */
  known: ReadonlyMap<string, CacheEntry> = new Map(),
): Promise<{ entries: Map<string, CacheEntry>; results: Omit<LayerResult, "file">[] }> {
  const { reporter } = ctx;
  const keys = await layerKeys(ctx.settings, layers);
  const index = ctx.cache.readIndex(recipe.recipe.name) as Record<
    string,
    { key: string; manifest: unknown }
  >;
  const entries = new Map<string, CacheEntry>(known);
  const rebuilt = new Set<string>();
  const results: Omit<LayerResult, "file">[] = [];

  for (const layer of layers) {
    if (known.has(layer.name)) continue;
    const { key, manifest } = keys.get(layer.name) as { key: string; manifest: unknown };
    const forced = (options.rebuild ?? []).some((n) => n === "*" || n === layer.name);
    const parentRebuilt = layer.parent && rebuilt.has(layer.parent) ? layer.parent : undefined;
    const started = Date.now();
    let entry = forced || parentRebuilt ? undefined : ctx.cache.get(key);
    let reason = "cached";
    if (entry) {
      ctx.cache.touch(key);
      reporter.info(`${layer.name}: cached (${key.slice(0, 12)})`);
    } else {
      reason = explain(index[layer.name], manifest, key, parentRebuilt, forced);
      if (options.explain) reporter.info(`${layer.name}: ${reason}`);
      const lowers = layer.chain.slice(0, -1).map((n) => entries.get(n) as CacheEntry);
      entry = await buildLayer(ctx, { layer, key, manifest, lowers });
      rebuilt.add(layer.name);
      reporter.done();
      reporter.info(
        `${layer.name}: built in ${((Date.now() - started) / 1000).toFixed(1)} s, ${(entry.meta.bytes / 1048576).toFixed(1)} MiB`,
      );
    }
    entries.set(layer.name, entry);
    index[layer.name] = { key, manifest };
    const parentPackages = layer.parent ? (entries.get(layer.parent)?.meta.packages ?? []) : [];
    results.push({
      name: layer.name,
      parent: layer.parent ?? null,
      key,
      digest: `sha256:${entry.meta.digest}`,
      bytes: entry.meta.bytes,
      cached: reason === "cached",
      seconds: (Date.now() - started) / 1000,
      reason,
      packages: diffPackages(parentPackages, entry.meta.packages),
    });
  }
  ctx.cache.writeIndex(recipe.recipe.name, index);
  return { entries, results };
}

/** Loads the recipe, checks the host, takes the cache lock, runs `fn`, and always cleans up. */
export async function withBuildContext<T>(
  recipeOrPath: LoadedRecipe | string,
  options: BuildOptions,
  before: (recipe: LoadedRecipe) => void,
  fn: (ctx: BuildContext, recipe: LoadedRecipe) => Promise<T>,
): Promise<T> {
  const recipe =
    typeof recipeOrPath === "string"
      ? loadRecipe(recipeOrPath, { set: options.set })
      : recipeOrPath;
  for (const name of options.rebuild ?? []) {
    if (name !== "*" && !recipe.layers.some((l) => l.name === name)) {
      throw new StrataError("E_USAGE", `--rebuild ${name}: no such layer`, {
        hint: `layers are: ${recipe.layers.map((l) => l.name).join(", ")}`,
      });
    }
  }
  checkHost(recipe);
  before(recipe);
  const reporter = options.reporter ?? defaultReporter(process.stderr, options.verbose);
  const settings = await resolveSettings(recipe, options);
  const ctx = new BuildContext(settings, reporter);
  try {
    const lock = await ctx.cache.lock((pid) =>
      reporter.info(`waiting for the cache lock held by build ${pid}`),
    );
    ctx.cleanups.push("release the cache lock", () => lock.release());
    return await fn(ctx, recipe);
  } finally {
    reporter.done();
    await ctx.close();
  }
}

export async function build(
  recipeOrPath: LoadedRecipe | string,
  options: BuildOptions = {},
): Promise<BuildResult> {
  const out = resolve(options.out ?? "out");
  return withBuildContext(
    recipeOrPath,
    options,
    () => prepareOutDir(out),
    async (ctx, recipe) => {
      const { reporter } = ctx;
      const { entries, results: built } = await buildLayers(ctx, recipe, recipe.layers, options);
      const byName = new Map(recipe.layers.map((l) => [l.name, l]));
      const results: LayerResult[] = built.map((r) => ({
        ...r,
        file: `${String(byName.get(r.name)?.chain.length ?? 0).padStart(2, "0")}-${r.name}.sqfs`,
      }));
      for (const r of results) placeModule(entries.get(r.name) as CacheEntry, join(out, r.file));
      // Modules of layers that are no longer in the recipe would mislead whoever reads the directory.
      const files = new Set(results.map((r) => r.file));
      for (const f of readdirSync(out))
        if (/^\d\d-.+\.sqfs$/.test(f) && !files.has(f)) rmSync(join(out, f));

      const outputs: BuildResult["outputs"] = [];
      for (const output of recipe.recipe.outputs) {
        const top = output.layer ?? (recipe.recipe.layers.at(-1)?.name as string);
        const type = outputType(output);
        const target = join(out, type.fileName(output, output.name ?? top));
        reporter.status(`output ${output.type}: ${target}`);
        const scratch = ctx.cache.workDir(`output-${output.type}`);
        try {
          const stack = stackOf(recipe.layers, top).map((layer) => ({
            layer,
            entry: entries.get(layer.name) as CacheEntry,
          }));
          const modules = stack.map((s) => s.entry.module);
          const extend = async (layer: ResolvedLayer) => {
            const built = await buildLayers(
              ctx,
              recipe,
              [...stack.map((s) => s.layer), layer],
              options,
              entries,
            );
            return built.entries.get(layer.name) as CacheEntry;
          };
          await type.write({ ctx, output, modules, target, scratch, stack, extend });
        } finally {
          rmSync(scratch, { recursive: true, force: true });
        }
        reporter.done();
        reporter.info(`output ${output.type}: ${target}`);
        outputs.push({ type: output.type, layer: top, path: target });
      }

      const manifestPath = join(out, "manifest.json");
      const manifest = {
        recipe: recipe.recipe.name,
        distro: ctx.settings.distro,
        layers: results.map((r) => ({
          name: r.name,
          parent: r.parent,
          file: r.file,
          key: r.key,
          digest: r.digest,
          bytes: r.bytes,
          packages: r.packages,
        })),
        outputs,
      };
      writeFileSync(`${manifestPath}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
      renameSync(`${manifestPath}.tmp`, manifestPath);
      return {
        recipe: recipe.recipe.name,
        out,
        manifest: manifestPath,
        layers: results,
        outputs,
        peakMemoryBytes: process.resourceUsage().maxRSS * 1024,
      };
    },
  );
}
