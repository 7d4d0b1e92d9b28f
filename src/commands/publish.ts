/**
 * `strata publish RECIPE --repo DIR --key KEY.key [--channel NAME]`: builds the recipe (cached)
 * and adds its disk output's version to an update repository (src/update/repo.ts) as the
 * channel's next version. The build's `<name>.release/` holds what goes in. Before anything
 * is built, the build checks the key against the recipe's own keyring (src/build/signing.ts):
 * a repository signed with a key the devices do not trust would be refused by every one of them.
 *
 * `strata publish --gc --repo DIR [--keep N]` drops the versions no channel points at beyond
 * the newest N, and the layers and boot files no kept version references.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { build, type BuildResult } from "../build/build.js";
import type { BuildOptions } from "../build/context.js";
import { StrataError } from "../errors.js";
import { RELEASE_JSON, releaseDirName } from "../outputs/disk/release.js";
import { defaultReporter } from "../progress.js";
import { type LoadedRecipe, loadRecipe } from "../recipe/load.js";
import { withSigner } from "../update/keys.js";
import { parseManifest } from "../update/manifest.js";
import { addRelease, type PublishResult, type ReleaseInput, withRepoLock } from "../update/repo.js";
import { builtImage, pickDiskOutput } from "./disk-output.js";

export interface PublishOptions extends BuildOptions {
  repo: string;
  key: string;
  channel?: string;
  /** The disk output to publish (default: the first) */
  output?: string;
  /** Days the channel stays valid (default 30) */
  validDays?: number;
}

export interface PublishCommandResult extends PublishResult {
  recipe: string;
  channel: string;
  repo: string;
  /** Bytes of the files added */
  bytes: number;
}

/** The build's version as publish takes it: each file's place in `<name>.release/`. */
export function readReleaseDir(dir: string): ReleaseInput {
  let text: string;
  try {
    text = readFileSync(join(dir, RELEASE_JSON), "utf8");
  } catch (e) {
    throw new StrataError("E_PUBLISH", `${join(dir, RELEASE_JSON)} cannot be read`, {
      hint: "publish a recipe with `update:` and a disk output; its build writes the release",
      cause: e,
    });
  }
  const m = parseManifest(text);
  const boot = (f: { digest: string; bytes: number }) => ({
    ...f,
    file: join(dir, "boot", f.digest),
  });
  return {
    recipe: m.recipe,
    arch: m.arch,
    root: m.root,
    kernel: m.kernel,
    cmdline: m.cmdline,
    vmlinuz: boot(m.vmlinuz),
    initrd: boot(m.initrd),
    layers: m.layers.map((l) => ({ ...l, file: join(dir, "layers", `${l.digest}.sqfs`) })),
  };
}

export async function publish(
  recipeOrPath: LoadedRecipe | string,
  options: PublishOptions,
): Promise<PublishCommandResult> {
  const recipe =
    typeof recipeOrPath === "string"
      ? loadRecipe(recipeOrPath, { set: options.set })
      : recipeOrPath;
  const update = recipe.recipe.update;
  if (!update) {
    throw new StrataError("E_PUBLISH", `recipe '${recipe.recipe.name}' has no \`update:\``, {
      hint: "add `update: { url: http://..., keyring: keys/update.pub }` so its images take updates",
    });
  }
  const choice = pickDiskOutput(recipe, options.output);
  const channel = options.channel ?? update.channel;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(channel)) {
    throw new StrataError("E_USAGE", `--channel ${channel}: not a channel name`, {
      hint: "letters, digits, . _ -",
    });
  }
  // The build checks the key against the recipe's keyring before it builds anything.
  const result: BuildResult = await build(recipe, options);
  const image = builtImage(result, choice);
  const release = readReleaseDir(join(resolve(image, ".."), releaseDirName(choice.name)));
  const validSeconds = Math.round((options.validDays ?? 30) * 86400);
  const repo = resolve(options.repo);
  const reporter = options.reporter ?? defaultReporter(process.stderr, options.verbose);
  const published = await withRepoLock(
    repo,
    (pid) => reporter.info(`waiting for ${repo}: publish ${pid} holds its lock`),
    () =>
      withSigner(resolve(options.key), (sign) =>
        addRelease(repo, release, { channel, sign, validSeconds }),
      ),
  );
  return {
    ...published,
    recipe: recipe.recipe.name,
    channel,
    repo,
    bytes: published.added.reduce((n, f) => n + f.bytes, 0),
  };
}
