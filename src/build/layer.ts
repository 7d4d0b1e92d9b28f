/**
 * Builds one layer. A bootstrap layer starts from mmdebstrap's directory; any other layer is a
 * fresh upper directory over the stacked layers below. The steps run one by one in the
 * sandbox; then the upper directory (only what this layer changed, whiteouts included) is
 * scrubbed, and packed and moved into the cache in one rename when the caller says so.
 */
import { cpSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CacheEntry, LayerMeta, PackageRef } from "../cache/store.js";
import { StrataError } from "../errors.js";
import type { Namespace } from "../host/namespace.js";
import { run, tail } from "../host/run.js";
import type { ResolvedLayer } from "../recipe/graph.js";
import { runStepHandler } from "../steps/index.js";
import { q } from "../host/shell.js";
import type { ShOptions, StepContext } from "../steps/types.js";
import { setTimeout as sleep } from "node:timers/promises";
import { isFetchFailure, isLockHeld, listsAreFresh, markListsFresh } from "./apt-lists.js";
import { bootstrapRoot } from "./bootstrap.js";
import { ociDigestOf } from "./keys.js";
import { isOciBootstrap } from "../recipe/schema.js";
import { parseOciSource } from "../oci/source.js";
import { unpackOciImage } from "../oci/unpack.js";
import type { BuildContext } from "./context.js";
import { readDpkgStatus } from "./dpkg.js";
import { fileSha256, packSquashfs } from "./pack.js";
import {
  PLACEHOLDERS,
  POLICY_RC_D,
  SANDBOX_DESTS,
  type SandboxMounts,
  STAGE_IN_ROOT,
  sandboxArgv,
  sandboxEnv,
} from "./sandbox.js";
import { scrubLayer } from "./scrub.js";
import { checkSandboxDests } from "./sandbox-dests.js";
import { resolveInRoot } from "../host/in-root.js";
import { lookupDebs } from "./deb-lookup.js";
import { APT_HOOK, watchPreInstall } from "./apt-hook.js";
import { type Lower, mountStack } from "./stack.js";

/** How often a package step tries again while another apt holds the shared cache's lock. */
const LOCK_ATTEMPTS = 150;

/**
 * apt options for every apt-get strata runs inside a root. apt's source cache (the parsed
 * package lists, ~0.6 s to rebuild for Debian's main) is kept beside the shared lists, so a
 * package step only adds the root's own status to it; apt rebuilds it when the lists change.
 */
const APT = [
  "apt-get -q -o APT::Sandbox::User=root -o Acquire::Languages=none -o Dpkg::Use-Pty=0",
  "-o Dir::Cache::srcpkgcache=/var/lib/apt/lists/strata-srcpkgcache.bin",
].join(" ");

export interface StepTiming {
  label: string;
  seconds: number;
}

export interface LayerJob {
  layer: ResolvedLayer;
  key: string;
  manifest: unknown;
  /** The layers below, bottom first: their modules, or trees still being packed. */
  lowers: Lower[];
}

interface SandboxRun extends ShOptions {
  /** The pre-install check's directory (build/apt-hook.ts), for strata's apt commands. */
  aptControl?: string;
  /**
   * strata's own apt command, with the shared package cache and lists writable: `fetch` may
   * download (the mirrors' network), `local` only reads them and updates apt's source cache.
   */
  apt?: "fetch" | "local";
}

/** Runs a script in the sandbox over `mounts.root`; a non-zero exit is returned, not thrown. */
async function sandboxScript(
  ctx: BuildContext,
  ns: Namespace,
  mounts: SandboxMounts,
  script: string,
  options: SandboxRun = {},
) {
  for (const [name, content] of Object.entries(options.files ?? {}))
    writeFileSync(join(mounts.stage, name), content);
  writeFileSync(join(mounts.stage, "script.sh"), script.endsWith("\n") ? script : `${script}\n`);
  checkSandboxDests(ns.view(mounts.root), SANDBOX_DESTS);
  const network =
    options.apt === "fetch" ? "mirrors" : options.apt ? "none" : options.network ? "host" : "none";
  const m = options.aptControl ? { ...mounts, aptControl: options.aptControl } : mounts;
  const argv = sandboxArgv(m, ["/bin/sh", "-e", `${STAGE_IN_ROOT}/script.sh`], {
    env: sandboxEnv(ctx.settings.epoch, options.env),
    network,
    aptWritable: options.apt !== undefined,
  });
  return run(argv[0] as string, argv.slice(1), {
    ns,
    hostNetwork: network === "host",
    onLine: (l) => ctx.reporter.detail(l),
    reject: false,
    cleanEnv: true,
    env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
  });
}

/** Warns about .deb files deleted from the shared cache because they did not match. */
function warnRemoved(ctx: BuildContext, layer: string, removed: readonly string[]): void {
  if (removed.length === 0) return;
  ctx.reporter.warn(
    `${layer}: deleted ${removed.length} file(s) from apt's package cache that did not match the package lists: ${removed.join(", ")}`,
  );
}

/** Runs the layer's steps in `root` (a path inside the namespace); returns their timings. */
async function runSteps(
  ctx: BuildContext,
  ns: Namespace,
  job: LayerJob,
  root: string,
  stage: string,
): Promise<StepTiming[]> {
  const { settings, reporter } = ctx;
  const mounts = { root, aptArchives: settings.aptArchives, aptLists: settings.aptLists, stage };
  // Beside the stage (which the sandbox sees read-only); see build/apt-hook.ts.
  const aptControl = join(stage, "..", "apt-control");
  writeFileSync(join(stage, "apt-hook.sh"), APT_HOOK);
  const timings: StepTiming[] = [];
  const debs = ctx.debCache();
  /** apt's options for the mirror proxy, the build namespace's one way out. */
  const aptNet = async () => {
    const proxy = await ctx.mirrorProxy();
    return `-o Acquire::http::Proxy=${proxy} -o Acquire::https::Proxy=${proxy}`;
  };

  for (const planned of job.layer.steps) {
    const started = Date.now();
    reporter.status(`${job.layer.name}: ${planned.label}`);
    const shIn = async (script: string, options: SandboxRun = {}): Promise<string> => {
      const result = await sandboxScript(ctx, ns, mounts, script, options);
      if (result.exitCode !== 0) {
        const aptErrors = result.output.split("\n").filter((l) => /^E: /.test(l));
        throw new StrataError(
          "E_STEP_FAILED",
          `layer '${job.layer.name}', step ${planned.label} failed with exit code ${result.exitCode}:\n${tail(result.output)}`,
          {
            hint:
              aptErrors.length > 0
                ? `apt said: ${aptErrors.join(" / ")}`
                : `fix the step at ${planned.label.split(" ")[0]} in ${settings.recipe.file}`,
          },
        );
      }
      return result.stdout;
    };
    const sh = (script: string, options: ShOptions = {}) => shIn(script, options);
    const aptUpdate = async (force = false) => {
      if (ctx.aptListsFresh) return;
      if (!force && !ctx.refreshLists && listsAreFresh(settings.aptLists)) return;
      await shIn(`${APT} ${await aptNet()} update`, { apt: "fetch" });
      markListsFresh(settings.aptLists);
      ctx.aptListsFresh = true;
    };
    /**
     * Runs an apt command. Lists that went stale since their refresh are refreshed once; the
     * package cache is shared with the host's apt and other builds, so a held lock is waited
     * for. The files apt takes from that cache are checked against the lists first, and what
     * the command wrote there is checked after (build/deb-cache.ts).
     */
    const apt = async (command: string, packages: readonly string[]) => {
      await aptUpdate();
      const lookup = (names: string[]) => lookupDebs(settings, names);
      const hook = q(`DPkg::Pre-Install-Pkgs::=/bin/sh ${STAGE_IN_ROOT}/apt-hook.sh`);
      for (let attempt = 0; ; attempt++) {
        const watch = watchPreInstall(aptControl, async (names) => {
          const checked = await debs.checkBeforeUse(names, lookup);
          warnRemoved(ctx, job.layer.name, checked.removed);
          return checked.removed.length === 0;
        });
        try {
          const checked = await debs.guard(async () => {
            await shIn(
              `${APT} ${await aptNet()} -o ${hook} ${command} ${packages.map(q).join(" ")}`,
              { apt: "fetch", aptControl },
            );
          }, lookup);
          warnRemoved(ctx, job.layer.name, checked.removed);
          return;
        } catch (e) {
          if (!(e instanceof StrataError)) throw e;
          await watch.stop();
          if (watch.refused() && attempt < 2) {
            reporter.info(`${job.layer.name}: downloading the deleted package files again`);
          } else if (isLockHeld(e.message) && attempt < LOCK_ATTEMPTS) {
            if (attempt === 0) reporter.info(`${job.layer.name}: waiting for apt's cache lock`);
            await sleep(2000);
          } else if (!ctx.aptListsFresh && isFetchFailure(e.message)) {
            reporter.info(`${job.layer.name}: a download failed; refreshing apt's lists`);
            await aptUpdate(true);
          } else throw e;
        } finally {
          await watch.stop();
        }
      }
    };
    const stepCtx: StepContext = {
      step: planned,
      distro: settings.distro,
      recipeDir: settings.recipe.dir,
      sh,
      async stageCopy(hostPath, name) {
        const dest = join(stage, name);
        rmSync(dest, { recursive: true, force: true });
        cpSync(hostPath, dest, {
          recursive: true,
          verbatimSymlinks: true,
          preserveTimestamps: true,
        });
        return `${STAGE_IN_ROOT}/${name}`;
      },
      async aptInstall(packages) {
        const recommends = settings.distro.recommends ? "" : "--no-install-recommends";
        await apt(
          `install -y ${recommends} -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold`,
          packages,
        );
      },
      async aptRemove(packages) {
        await apt("purge -y --auto-remove", packages);
      },
    };
    await runStepHandler(stepCtx, planned.kind, planned.step);
    timings.push({ label: planned.label, seconds: (Date.now() - started) / 1000 });
  }
  return timings;
}

/** Whether a layer's steps include strata's own apt commands (which reach the mirrors). */
const needsApt = (job: LayerJob) =>
  job.layer.steps.some((s) => s.kind === "packages" || s.kind === "remove");

/** A layer's tree, built; its module is packed by `pack`. */
export interface BuiltTree {
  /** The layer's own changes (whiteouts included): a lower for the layers above until packed */
  upper: string;
  /** Every package installed once this layer is on the stack */
  packages: PackageRef[];
  steps: StepTiming[];
  /** Packs the tree into the cache (mksquashfs, digest, atomic rename). */
  pack(): Promise<CacheEntry>;
  /** Removes the work directory; call once nothing uses `upper` any more. */
  remove(): void;
}

/**
 * Builds a layer's tree: a bootstrap, or a fresh upper directory over the stacked lowers with
 * the steps run in the sandbox, then scrubbed. Packing is left to the caller, so that it can
 * run while the next layer is built on `upper`.
 */
export async function buildLayerTree(ctx: BuildContext, job: LayerJob): Promise<BuiltTree> {
  const { settings, reporter, cache } = ctx;
  const started = Date.now();
  const ns = await ctx.namespace();
  // Started now, while the stack is mounted; the first apt command waits for it.
  const mmdebstrap = job.layer.spec.bootstrap && !isOciBootstrap(job.layer.spec.bootstrap);
  if (mmdebstrap || needsApt(job)) void ctx.mirrorProxy().catch(() => undefined);
  await ctx.binfmt();
  ctx.prepareAptDirs();

  const work = cache.workDir(job.layer.name);
  const remove = () => rmSync(work, { recursive: true, force: true });
  const stage = join(work, "stage");
  const entryDir = join(work, "entry");
  mkdirSync(stage, { recursive: true });
  mkdirSync(entryDir, { recursive: true });
  writeFileSync(join(stage, "policy-rc.d"), POLICY_RC_D, { mode: 0o755 });

  let unmount: (() => Promise<void>) | undefined;
  try {
    let root: string;
    let upper: string;
    let bootstrapSeconds = 0;
    const bootstrap = job.layer.spec.bootstrap;
    if (isOciBootstrap(bootstrap)) {
      root = join(work, "root");
      upper = root;
      const t = Date.now();
      reporter.status(`${job.layer.name}: unpacking ${bootstrap.oci}`);
      await unpackOciImage({
        source: parseOciSource(bootstrap.oci, settings.recipe.dir),
        digest: ociDigestOf(job.manifest),
        arch: settings.distro.arch,
        access: settings.registry,
        root,
        work,
        ns,
        label: `layers[${job.layer.index}].bootstrap.oci`,
        onLine: (l) => reporter.detail(l),
      });
      bootstrapSeconds = (Date.now() - t) / 1000;
    } else if (bootstrap) {
      root = join(work, "root");
      upper = root;
      const t = Date.now();
      reporter.status(
        `${job.layer.name}: bootstrapping ${settings.distro.suite}/${settings.distro.arch} with mmdebstrap`,
      );
      const proxy = await ctx.mirrorProxy();
      const checked = await ctx.debCache().guard(
        () =>
          bootstrapRoot(
            settings,
            ns,
            bootstrap,
            root,
            { dir: work, stage, proxy },
            `layers[${job.layer.index}].bootstrap`,
            (l) => reporter.detail(l),
          ),
        (names) => lookupDebs(settings, names),
      );
      warnRemoved(ctx, job.layer.name, checked.removed);
      bootstrapSeconds = (Date.now() - t) / 1000;
      // mmdebstrap has just fetched the shared lists.
      markListsFresh(settings.aptLists);
      ctx.aptListsFresh = true;
    } else {
      upper = join(work, "upper");
      const stack = await mountStack(ns, job.lowers, join(work, "mnt"), {
        upper,
        work: join(work, "ovl-work"),
      });
      unmount = stack.unmount;
      root = stack.root;
    }
    const placeholders = PLACEHOLDERS.filter(
      (p) => resolveInRoot(ns.view(root), p, { followLast: false }).stat === undefined,
    );

    const steps = await runSteps(ctx, ns, job, root, stage);
    if (bootstrap) {
      const label = isOciBootstrap(bootstrap) ? "bootstrap (OCI image)" : "bootstrap (mmdebstrap)";
      steps.unshift({ label, seconds: bootstrapSeconds });
    }

    const packages = readDpkgStatus(ns.view(root));
    if (unmount) {
      await unmount();
      unmount = undefined;
    }
    scrubLayer(upper, placeholders);
    // Every timestamp as the module will have it (mksquashfs -all-time), so a layer built on
    // this tree before it is packed sees what it would see on the module (fc-cache, .pyc...).
    await run("find", [upper, "-exec", "touch", "-h", "-d", `@${settings.epoch}`, "{}", "+"], {
      ns,
    });
    const pack = async (): Promise<CacheEntry> => {
      const packStarted = Date.now();
      const module = join(entryDir, "module.sqfs");
      await packSquashfs(upper, module, settings.epoch, (l) => reporter.detail(l));
      steps.push({ label: "pack (mksquashfs)", seconds: (Date.now() - packStarted) / 1000 });
      const meta: LayerMeta = {
        key: job.key,
        name: job.layer.name,
        digest: await fileSha256(module),
        bytes: statSync(module).size,
        created: new Date().toISOString(),
        seconds: (Date.now() - started) / 1000,
        manifest: job.manifest,
        packages,
      };
      writeFileSync(join(entryDir, "meta.json"), `${JSON.stringify(meta, null, 2)}\n`);
      return cache.commit(job.key, entryDir);
    };
    return { upper, packages, steps, pack, remove };
  } catch (e) {
    if (unmount) await unmount();
    remove();
    throw e;
  }
}

/**
 * For `strata shell`: an interactive shell over the stacked modules; changes go to tmpfs. It
 * has no network unless asked (`--network`: the host's), and apt's caches are read-only.
 */
export async function shellInStack(
  ctx: BuildContext,
  modules: string[],
  command: string[],
  options: { network?: boolean } = {},
): Promise<number> {
  const ns = await ctx.namespace();
  await ctx.binfmt();
  ctx.prepareAptDirs();
  const work = ctx.cache.workDir("shell");
  const stage = join(work, "stage");
  mkdirSync(stage, { recursive: true });
  writeFileSync(join(stage, "policy-rc.d"), POLICY_RC_D, { mode: 0o755 });
  const stack = await mountStack(ns, modules, join(work, "mnt"), "tmpfs");
  try {
    const argv = sandboxArgv(
      {
        root: stack.root,
        aptArchives: ctx.settings.aptArchives,
        aptLists: ctx.settings.aptLists,
        stage,
      },
      command,
      {
        env: sandboxEnv(ctx.settings.epoch, { PS1: "strata# " }),
        interactive: true,
        network: options.network ? "host" : "none",
        aptWritable: false,
      },
    );
    const result = await run(argv[0] as string, argv.slice(1), {
      ns,
      hostNetwork: options.network === true,
      interactive: true,
      reject: false,
    });
    return result.exitCode;
  } finally {
    await stack.unmount();
    rmSync(work, { recursive: true, force: true });
  }
}
