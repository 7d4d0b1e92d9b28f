/**
 * The settings of one build (immutable, resolved once from the recipe, the options and the
 * host) and its mutable state (namespace, cleanups, which apt lists are fresh), kept apart as
 * mkosi keeps its config and context apart.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestOf } from "../cache/canonical.js";
import { Cache, defaultCacheDir } from "../cache/store.js";
import { ensureBinfmt } from "../host/binfmt.js";
import { Cleanups, registerCloser, unregisterCloser } from "../host/cleanups.js";
import { hostHttpProxy, hostMirrors } from "../host/mirror.js";
import { startMirrorProxy } from "../host/mirror-proxy.js";
import { PROXY_PORT, startProxyBridge } from "../host/proxy-bridge-process.js";
import { DebCache } from "./deb-cache.js";
import { Namespace } from "../host/namespace.js";
import { run } from "../host/run.js";
import { type Reporter, silentReporter } from "../progress.js";
import type { LoadedRecipe } from "../recipe/load.js";
import type { Vars } from "../recipe/vars.js";
import { urlProblem } from "../recipe/fields.js";
import { StrataError } from "../errors.js";
import type { RegistryAccess } from "../oci/source.js";

/** Bumped whenever the bytes strata writes for the same inputs would change. */
export const LAYER_FORMAT = "strata-layer/3";
/** Timestamps inside layers (SOURCE_DATE_EPOCH), fixed so equal inputs give equal bytes. */
export const DEFAULT_EPOCH = 1735689600;
export const SQUASHFS = { compression: "zstd", level: 9 } as const;

export interface BuildOptions {
  set?: Vars;
  mirror?: string;
  cacheDir?: string;
  /** The apt package cache to share; default: the host's own (Dir::Cache::archives). */
  aptCacheDir?: string;
  /** Where modules, manifest.json and outputs go; default ./out */
  out?: string;
  /** Rebuild these layers (and so everything above them) even when cached; "*" for all. */
  rebuild?: string[];
  /** Report, for each layer rebuilt, which input changed. */
  explain?: boolean;
  reporter?: Reporter;
  /** Print every line of tool output (non-terminal reporter). */
  verbose?: boolean;
  /** Also write the build report as one self-contained HTML file here. */
  reportHtml?: string;
  /** Refresh apt's package lists even when they are fresh (see build/apt-lists.ts). */
  refresh?: boolean;
  /**
   * The secret key (`strata key generate`) that signs what the build's machines check: a
   * netboot output's manifest. Needed when the recipe has `update:` (its keyring) and a
   * netboot output; checked against that keyring before anything is built.
   */
  key?: string;
  /** Remote caches to pull missing layers from, in order (src/cache/remote-build.ts) */
  cacheFrom?: string[];
  /** A remote cache to push the plan's layers to */
  cacheTo?: string;
  /** Credentials for the registries (skopeo's --authfile); default: skopeo's own search */
  registryAuthFile?: string;
  /** Plain http to a registry on the loopback interface (tests, a local registry) */
  registryInsecure?: boolean;
  /** CA (and client) certificates for the registries (skopeo's --cert-dir); default: the system's */
  registryCertDir?: string;
}

export interface ResolvedDistro {
  suite: string;
  arch: string;
  mirror: string;
  security: string | undefined;
  updates: boolean;
  components: string[];
  recommends: boolean;
}

export interface Settings {
  readonly recipe: LoadedRecipe;
  readonly distro: ResolvedDistro;
  readonly cacheDir: string;
  readonly aptArchives: string;
  readonly aptLists: string;
  readonly epoch: number;
  /** How an OCI bootstrap reaches its registry (the remote cache's --authfile, --insecure) */
  readonly registry: RegistryAccess;
}

export function sourcesLines(d: ResolvedDistro): string[] {
  const comps = d.components.join(" ");
  const rolling = d.suite === "sid" || d.suite === "unstable";
  const lines = [`deb ${d.mirror} ${d.suite} ${comps}`];
  if (d.updates && !rolling) lines.push(`deb ${d.mirror} ${d.suite}-updates ${comps}`);
  if (d.security && !rolling) lines.push(`deb ${d.security} ${d.suite}-security ${comps}`);
  return lines;
}

/** Where strata keeps what it knows of the host's package cache (root: /var/lib/strata). */
function debStateDir(): string {
  const dir =
    process.env.STRATA_STATE_DIR ??
    (process.getuid?.() === 0
      ? "/var/lib/strata/deb-cache"
      : join(
          process.env.XDG_STATE_HOME ?? join(process.env.HOME ?? "/tmp", ".local", "state"),
          "strata",
          "deb-cache",
        ));
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function hostAptArchives(): Promise<string> {
  const { stdout } = await run("apt-config", ["shell", "A", "Dir::Cache::archives/d"], {
    reject: false,
  });
  const m = /A='([^']+)'/.exec(stdout);
  return (m?.[1] ?? "/var/cache/apt/archives/").replace(/\/+$/, "");
}

export async function resolveSettings(
  recipe: LoadedRecipe,
  options: BuildOptions,
): Promise<Settings> {
  const d = recipe.recipe.distro;
  const explicitMirror = d.mirror ?? options.mirror;
  // The CLI and the recipe check this too; a library caller's mirror must not add apt lines.
  const bad = options.mirror === undefined ? undefined : urlProblem(options.mirror);
  if (bad) throw new StrataError("E_USAGE", `mirror ${JSON.stringify(options.mirror)}: ${bad}`);
  const host = explicitMirror && d.security !== undefined ? undefined : await hostMirrors();
  const distro: ResolvedDistro = {
    suite: d.suite,
    arch: d.arch,
    mirror: (explicitMirror ?? host?.mirror ?? "").replace(/\/+$/, ""),
    // A recipe that names its own mirror gets no security mirror it did not ask for.
    security:
      d.security === false
        ? undefined
        : (d.security ?? (explicitMirror ? undefined : host?.security)),
    updates: d.updates,
    components: [...d.components],
    recommends: d.recommends,
  };
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const aptArchives =
    options.aptCacheDir ?? process.env.STRATA_APT_CACHE ?? (await hostAptArchives());
  const aptLists = join(
    cacheDir,
    "apt-lists",
    digestOf({ sources: sourcesLines(distro), arch: distro.arch }).slice(0, 16),
  );
  const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? DEFAULT_EPOCH);
  return Object.freeze({
    recipe,
    distro: Object.freeze(distro),
    cacheDir,
    aptArchives,
    aptLists,
    epoch,
    registry: Object.freeze({
      authFile: options.registryAuthFile,
      certDir: options.registryCertDir,
      insecure: options.registryInsecure,
    }),
  });
}

export class BuildContext {
  readonly cleanups = new Cleanups();
  readonly cache: Cache;
  readonly reporter: Reporter;
  /** apt lists refreshed in this build (apt-get update at most once per build). */
  aptListsFresh = false;
  /** Refresh the lists once even when they are fresh (--refresh). */
  refreshLists = false;
  private ns: Promise<Namespace> | undefined;
  private binfmtReady: Promise<void> | undefined;
  private proxyReady: Promise<string> | undefined;

  constructor(
    readonly settings: Settings,
    reporter: Reporter = silentReporter,
  ) {
    this.cache = new Cache(settings.cacheDir);
    this.reporter = reporter;
    // A build in progress is closed (its cleanups run) when strata is interrupted.
    registerCloser(this);
  }

  /** The build's private mount namespace, created on first use. */
  namespace(): Promise<Namespace> {
    this.ns ??= Namespace.create().then((ns) => {
      this.cleanups.push("end the build namespace", () => ns.close());
      return ns;
    });
    return this.ns;
  }

  /** Makes foreign-architecture binaries runnable, once. */
  binfmt(): Promise<void> {
    this.binfmtReady ??= ensureBinfmt(this.settings.distro.arch, this.cleanups, (m) =>
      this.reporter.info(m),
    );
    return this.binfmtReady;
  }

  /**
   * The build namespace's way to the mirrors (host/mirror-proxy.ts), started on first use:
   * returns the proxy's URL as seen inside the namespace.
   */
  mirrorProxy(): Promise<string> {
    this.proxyReady ??= this.startProxy();
    return this.proxyReady;
  }

  private async startProxy(): Promise<string> {
    const ns = await this.namespace();
    const d = this.settings.distro;
    const dir = mkdtempSync(join(tmpdir(), "strata-proxy-"));
    this.cleanups.push("remove the mirror proxy's socket", () =>
      rmSync(dir, { recursive: true, force: true }),
    );
    const proxy = await startMirrorProxy(
      { mirrors: [d.mirror, ...(d.security ? [d.security] : [])], upstream: await hostHttpProxy() },
      join(dir, "proxy.sock"),
    );
    this.cleanups.push("stop the mirror proxy", async () => {
      await proxy.close();
      if (proxy.refused.size > 0)
        this.reporter.info(`the build's network refused: ${[...proxy.refused].join(", ")}`);
    });
    const bridge = await startProxyBridge(ns, proxy.socket, PROXY_PORT);
    this.cleanups.push("stop the proxy bridge", () => bridge.stop(1000));
    return `http://127.0.0.1:${PROXY_PORT}`;
  }

  /**
   * The shared .deb cache and what strata knows of it (build/deb-cache.ts). That record
   * belongs to the package cache, not to one layer cache, so it is kept per host: a file
   * checked once is not checked again by a build on another layer cache.
   */
  debCache(): DebCache {
    const archives = this.settings.aptArchives;
    return new DebCache(archives, join(debStateDir(), `${digestOf(archives).slice(0, 16)}.json`));
  }

  prepareAptDirs(): void {
    mkdirSync(join(this.settings.aptLists, "partial"), { recursive: true });
    mkdirSync(join(this.settings.aptArchives, "partial"), { recursive: true });
  }

  async close(): Promise<void> {
    unregisterCloser(this);
    await this.cleanups.runAll((m) => this.reporter.warn(m));
  }
}
