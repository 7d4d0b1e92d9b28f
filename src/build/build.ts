/**
 * `strata build`: check everything first (recipe, host tools, kernel, output names), make the
 * build plan (src/plan/plan.ts), check the cached modules it will place (./place-modules.ts;
 * a damaged one is evicted and the plan made again), then carry it out in one loop: each layer
 * whose module is not cached is built (parents first), then each output is written from its
 * stack, then the modules, manifest.json and report.json are placed in the output directory.
 * Cleanups run in reverse order however the build ends.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import type { CacheEntry, PackageRef } from "../cache/store.js";
import { StrataError } from "../errors.js";
import { isForeign } from "../host/binfmt.js";
import { run } from "../host/run.js";
import { requireKernel, requireRoot, requireTools, type ToolName } from "../host/tools.js";
import { outputPlugin } from "../outputs/index.js";
import type { OutputEnv, StackLayer, StackView } from "../outputs/types.js";
import { type BuildPlan, layersOf, type PlannedOutput, plan } from "../plan/plan.js";
import { defaultReporter } from "../progress.js";
import { REPORT_FILE } from "../report/index.js";
import { type LoadedRecipe, loadRecipe } from "../recipe/load.js";
import { isOciBootstrap } from "../recipe/schema.js";
import { BuildContext, type BuildOptions, resolveSettings } from "./context.js";
import { diffPackages, type PackageChanges } from "./dpkg.js";
import { type BuiltTree, buildLayerTree, type StepTiming } from "./layer.js";
import { writeBuildReport } from "./report.js";
import { checkSigningKey, signerFor } from "./signing.js";
import { pullMissing, pushAll } from "../cache/remote-build.js";
import { RemoteCache } from "../cache/remote.js";
import { explainOrigin } from "../plan/explain.js";
import { isUpToDate, outputKey, stampOutput } from "./output-stamps.js";
import { moduleFile, placeModule, verifyModulesToPlace } from "./place-modules.js";
import { type Lower, mountStack } from "./stack.js";

export interface LayerResult {
  name: string;
  parent: string | null;
  /** Module file under the output directory, e.g. 02-system.sqfs (recipe layers only) */
  file?: string;
  key: string;
  digest: string;
  bytes: number;
  cached: boolean;
  /** Seconds from the build's start to this layer's start */
  startedAt: number;
  seconds: number;
  /** Why the layer was (or was not) rebuilt. */
  reason: string;
  /** The remote cache (--cache-from) this build pulled the layer from */
  pulledFrom?: string;
  /** The remote cache (--cache-to) this build pushed the layer to (absent: it had it) */
  pushedTo?: string;
  packages: PackageChanges;
  /** The steps run and their seconds (empty when cached) */
  steps: StepTiming[];
  /** For a layer an output added (a disk's boot layer): the output and the layer's role */
  addedBy?: { output: string; role: string };
}

export interface OutputResult {
  type: string;
  name: string;
  layer: string;
  path: string;
  bytes: number;
  /** Kept from an earlier build: nothing it is made from changed */
  cached: boolean;
  startedAt: number;
  seconds: number;
}

export interface BuildResult {
  recipe: string;
  out: string;
  manifest: string;
  /** report.json in `out`, and the HTML report when one was asked for */
  report: string;
  reportHtml?: string;
  layers: LayerResult[];
  outputs: OutputResult[];
  /** When the build started (ISO 8601) and how long it took */
  started: string;
  seconds: number;
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
    "flock",
    "ip",
    "mount",
    "umount",
  ];
  if (isForeign(recipe.recipe.distro.arch))
    tools.push(recipe.recipe.distro.arch === "armhf" ? "qemuArm" : "qemuAarch64");
  for (const o of recipe.recipe.outputs) tools.push(...outputPlugin(o).tools(o));
  if (recipe.recipe.layers.some((l) => isOciBootstrap(l.bootstrap))) tools.push("skopeo", "tar");
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

const seconds = (since: number) => (Date.now() - since) / 1000;

/**
 * Builds (or takes from the cache) the planned layers, parents first; with `only`, just those
 * layers (a stack). A built layer's module is packed while the layers above it are built on
 * its tree. A failure still lets the layers already built finish packing, so the next build
 * continues from the last good layer. The caller holds the cache lock.
 */
export async function buildPlannedLayers(
  ctx: BuildContext,
  p: BuildPlan,
  options: { explain?: boolean; startedAt?: number; only?: readonly string[] } = {},
): Promise<BuiltLayers> {
  const { reporter } = ctx;
  const t0 = options.startedAt ?? Date.now();
  const only = options.only ? new Set(options.only) : undefined;
  const index = ctx.cache.readIndex(p.recipe.recipe.name);
  const lowers = new Map<string, Lower>();
  const packagesOf = new Map<string, readonly PackageRef[]>();
  const done = new Map<string, Promise<{ entry: CacheEntry; steps: StepTiming[]; end: number }>>();
  const started = new Map<string, number>();
  const trees = new Map<string, BuiltTree>();

  try {
    for (const layer of p.layers) {
      if (only && !only.has(layer.name)) continue;
      started.set(layer.name, Date.now());
      const cached = layer.cached;
      if (cached) {
        ctx.cache.touch(layer.key);
        reporter.info(`${layer.name}: cached (${layer.key.slice(0, 12)})`);
        lowers.set(layer.name, cached.module);
        packagesOf.set(layer.name, cached.meta.packages);
        done.set(layer.name, Promise.resolve({ entry: cached, steps: [], end: Date.now() }));
        continue;
      }
      if (layer.damaged)
        reporter.warn(
          `layer '${layer.name}': cached module is damaged (${layer.damaged}); rebuilding it`,
        );
      if (options.explain) reporter.info(`${layer.name}: ${layer.reason}`);
      layer.precondition?.(layer.parent ? (packagesOf.get(layer.parent) ?? []) : []);
      const tree = await buildLayerTree(ctx, {
        layer,
        key: layer.key,
        manifest: layer.manifest,
        lowers: layer.chain.slice(0, -1).map((n) => lowers.get(n) as Lower),
      });
      trees.set(layer.name, tree);
      lowers.set(layer.name, { dir: tree.upper });
      packagesOf.set(layer.name, tree.packages);
      reporter.status(`${layer.name}: packing`);
      const t = started.get(layer.name) as number;
      const packed = tree.pack().then((entry) => {
        reporter.info(
          `${layer.name}: built in ${seconds(t).toFixed(1)} s, ${(entry.meta.bytes / 1048576).toFixed(1)} MiB`,
        );
        return { entry, steps: tree.steps, end: Date.now() };
      });
      packed.catch(() => {}); // awaited below; a failure elsewhere must not leave it unhandled
      done.set(layer.name, packed);
    }
    await Promise.all(done.values());
  } catch (e) {
    await Promise.allSettled(done.values());
    for (const tree of trees.values()) tree.remove();
    throw e;
  }
  reporter.done();
  // A bootstrapped tree is a whole root that an output may take instead of copying its
  // module (see StackView.takeBaseTree); the build's other trees go now.
  const bases = new Map<string, BuiltTree>();
  for (const [name, tree] of trees) {
    if (p.layers.find((l) => l.name === name)?.spec.bootstrap) bases.set(name, tree);
    else tree.remove();
  }
  // Once the outputs are written: what was not moved away goes (a taken tree is its taker's
  // until then).
  const release = () => {
    for (const tree of bases.values()) tree.remove();
    bases.clear();
  };
  ctx.cleanups.push("remove the bootstrapped trees", release);
  const given = new Set<string>();

  const entries = new Map<string, CacheEntry>();
  const results: LayerResult[] = [];
  const outputName = (i: number) => p.outputs[i]?.name ?? String(i);
  for (const layer of p.layers) {
    const pending = done.get(layer.name);
    if (!pending) continue;
    const { entry, steps, end } = await pending;
    const t = started.get(layer.name) as number;
    entries.set(layer.name, entry);
    index[layer.name] = { key: layer.key, manifest: layer.manifest };
    const parentPackages = layer.parent ? (entries.get(layer.parent)?.meta.packages ?? []) : [];
    results.push({
      name: layer.name,
      parent: layer.parent ?? null,
      ...(layer.addedBy ? {} : { file: moduleFile(layer) }),
      key: layer.key,
      digest: `sha256:${entry.meta.digest}`,
      bytes: entry.meta.bytes,
      cached: layer.cached !== undefined,
      startedAt: (t - t0) / 1000,
      seconds: (end - t) / 1000,
      reason: layer.reason,
      packages: diffPackages(parentPackages, entry.meta.packages),
      steps,
      ...(layer.addedBy
        ? { addedBy: { output: outputName(layer.addedBy.output), role: layer.addedBy.role } }
        : {}),
    });
  }
  ctx.cache.writeIndex(p.recipe.recipe.name, index);
  const takeBase = (name: string) => {
    if (given.has(name)) return undefined;
    given.add(name);
    return bases.get(name)?.upper;
  };
  return { entries, results, takeBase, release };
}

export interface BuiltLayers {
  entries: Map<string, CacheEntry>;
  results: LayerResult[];
  /** The tree of a layer bootstrapped in this run, given away once (see StackView). */
  takeBase(name: string): string | undefined;
  /** Removes the trees nobody took. */
  release(): void;
}

/** A read-only view of `names` (a stack, bottom first) for an output. */
function stackView(
  ctx: BuildContext,
  built: BuiltLayers,
  p: BuildPlan,
  names: readonly string[],
  scratch: string,
): StackView {
  const { entries } = built;
  const layers: StackLayer[] = layersOf(p, names).map((l) => {
    const e = entries.get(l.name) as CacheEntry;
    return {
      name: l.name,
      key: l.key,
      digest: e.meta.digest,
      bytes: e.meta.bytes,
      module: e.module,
      packages: e.meta.packages,
    };
  });
  let mounts = 0;
  return {
    layers,
    takeBaseTree: () => built.takeBase(names[0] as string),
    async withRoot(fn) {
      const ns = await ctx.namespace();
      const dir = join(scratch, `mnt-${names.at(-1)}-${mounts++}`);
      const stack = await mountStack(
        ns,
        layers.map((l) => l.module),
        dir,
        "none",
      );
      try {
        return await fn({ path: ns.view(stack.root), nsPath: stack.root });
      } finally {
        await stack.unmount();
      }
    },
  };
}

function outputEnv(ctx: BuildContext, sign: OutputEnv["sign"]): OutputEnv {
  const { settings } = ctx;
  return {
    sign,
    recipe: { name: settings.recipe.recipe.name, dir: settings.recipe.dir },
    distro: settings.distro,
    epoch: settings.epoch,
    reporter: ctx.reporter,
    run: async (cmd, args, options = {}) =>
      run(cmd, args, { ...options, ns: await ctx.namespace() }),
  };
}

async function bytesOf(path: string): Promise<number> {
  const st = statSync(path);
  if (!st.isDirectory()) return st.blocks * 512;
  const { stdout } = await run("du", ["-s", "--block-size=1", path]);
  return Number(stdout.split(/\s/)[0]);
}

async function writeOutput(
  ctx: BuildContext,
  p: BuildPlan,
  o: PlannedOutput,
  built: BuiltLayers,
  out: string,
  t0: number,
  sign: OutputEnv["sign"],
): Promise<OutputResult> {
  const started = Date.now();
  const target = join(out, o.file);
  const key = outputKey(p, o);
  const result = async (cached: boolean): Promise<OutputResult> => ({
    type: o.output.type,
    name: o.name,
    layer: o.top,
    path: target,
    bytes: await bytesOf(target),
    cached,
    startedAt: (started - t0) / 1000,
    seconds: seconds(started),
  });
  if (isUpToDate(out, o.file, key)) {
    ctx.reporter.info(`output ${o.output.type}: ${target} is up to date`);
    return result(true);
  }
  ctx.reporter.status(`output ${o.output.type}: ${target}`);
  stampOutput(out, o.file, undefined);
  const scratch = ctx.cache.workDir(`output-${o.output.type}`);
  try {
    const added = Object.fromEntries(
      Object.entries(o.added).map(([role, names]) => [
        role,
        stackView(ctx, built, p, names, scratch),
      ]),
    );
    await outputPlugin(o.output).write({
      output: o.output,
      name: o.name,
      target,
      scratch,
      stack: stackView(ctx, built, p, o.stack, scratch),
      added,
      env: outputEnv(ctx, sign),
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  stampOutput(out, o.file, key);
  ctx.reporter.done();
  ctx.reporter.info(`output ${o.output.type}: ${target}`);
  return result(false);
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
  checkHost(recipe);
  before(recipe);
  const reporter = options.reporter ?? defaultReporter(process.stderr, options.verbose);
  const settings = await resolveSettings(recipe, options);
  const ctx = new BuildContext(settings, reporter);
  ctx.refreshLists = options.refresh === true;
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

/**
 * The build's remote caches. A repository named by both --cache-from and --cache-to is one
 * object, so a registry found down while pulling is not asked again to push.
 */
function remoteCaches(options: BuildOptions): { from: RemoteCache[]; to?: RemoteCache } {
  const remote = {
    authFile: options.registryAuthFile,
    certDir: options.registryCertDir,
    insecure: options.registryInsecure,
  };
  const from = (options.cacheFrom ?? []).map((ref) => new RemoteCache(ref, remote));
  const ref = options.cacheTo;
  if (!ref) return { from };
  return { from, to: from.find((r) => r.ref === ref) ?? new RemoteCache(ref, remote) };
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(`${path}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

export async function build(
  recipeOrPath: LoadedRecipe | string,
  options: BuildOptions = {},
): Promise<BuildResult> {
  const out = resolve(options.out ?? "out");
  const t0 = Date.now();
  return withBuildContext(
    recipeOrPath,
    options,
    () => prepareOutDir(out),
    async (ctx, recipe) => {
      await checkSigningKey(recipe, options.key);
      const { from, to } = remoteCaches(options);
      let p = await plan(recipe, ctx.settings, ctx.cache, options);
      // Local cache first, then each remote: what they hold is pulled, and the plan made again.
      const pulled = await pullMissing(p, ctx.cache, from, ctx.reporter, options.rebuild);
      if (pulled.size > 0) p = await plan(recipe, ctx.settings, ctx.cache, options);
      // A damaged module that would be placed is evicted: plan again to rebuild it.
      if (!(await verifyModulesToPlace(ctx.cache, p, out)))
        p = await plan(recipe, ctx.settings, ctx.cache, options);
      const built = await buildPlannedLayers(ctx, p, { explain: options.explain, startedAt: t0 });
      const { entries, results } = built;
      for (const r of results) {
        const ref = pulled.get(r.key);
        if (ref) Object.assign(r, { pulledFrom: ref, reason: `pulled from ${ref}` });
      }
      for (const r of results)
        if (r.file) {
          const entry = entries.get(r.name) as CacheEntry;
          placeModule(entry, join(out, r.file));
          // A new hard link changes the module's ctime; its check in this build still holds.
          await ctx.cache.restamp(entry.meta.key);
        }
      // Modules of layers that are no longer in the recipe would mislead whoever reads the directory.
      const files = new Set(results.map((r) => r.file));
      for (const f of readdirSync(out))
        if (/^\d\d-.+\.sqfs$/.test(f) && !files.has(f)) rmSync(join(out, f));

      const outputs: OutputResult[] = [];
      if (to) {
        const pushed = await pushAll(entries, ctx.cache, to, ctx.reporter);
        for (const r of results) if (pushed.has(r.name)) r.pushedTo = to.ref;
      }
      if (options.explain)
        for (const r of results) ctx.reporter.info(`${r.name}: ${explainOrigin(r)}`);
      const sign = signerFor(options.key);
      for (const o of p.outputs) outputs.push(await writeOutput(ctx, p, o, built, out, t0, sign));
      built.release();

      const manifestPath = join(out, "manifest.json");
      writeJson(manifestPath, {
        recipe: recipe.recipe.name,
        distro: ctx.settings.distro,
        layers: results
          .filter((r) => r.file)
          .map((r) => ({
            name: r.name,
            parent: r.parent,
            file: r.file,
            key: r.key,
            digest: r.digest,
            bytes: r.bytes,
            packages: r.packages,
          })),
        outputs: outputs.map((o) => ({ type: o.type, layer: o.layer, path: o.path })),
      });
      const result: BuildResult = {
        recipe: recipe.recipe.name,
        out,
        manifest: manifestPath,
        report: join(out, REPORT_FILE),
        layers: results,
        outputs,
        started: new Date(t0).toISOString(),
        seconds: seconds(t0),
        peakMemoryBytes: process.resourceUsage().maxRSS * 1024,
      };
      const written = writeBuildReport(result, ctx.settings.distro, options.reportHtml);
      return { ...result, ...(written.html ? { reportHtml: written.html } : {}) };
    },
  );
}
