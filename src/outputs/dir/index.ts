/**
 * `type: dir`: the merged root filesystem of the output's layer stack as a directory tree
 * (`<out>/<name>/`), with owners, modes, device nodes and extended attributes preserved.
 * What an upper layer deleted is absent, as in the running system.
 *
 * A rebuild updates the tree in place when it can (./sync.ts): only the paths of the layers
 * that changed since the tree was written are touched. `.<name>.layers.json` beside the tree
 * records the layers it holds; without it (or when an old layer's module is gone from the
 * cache) the tree is copied whole, or, when the build has just bootstrapped the bottom layer,
 * that layer's tree is moved into place and the layers above it are added in place.
 *
 * Nothing here follows a layer's symlink on the host side: `cp -a` copies symlinks as
 * symlinks, the update reads module listings with `unsquashfs -ls`, walks only real
 * directories, and copies with tar (no `-h`; GNU tar extracts a symlink that is absolute or
 * has `..` only after every other member, so no member is written through it).
 */
import { existsSync, lstatSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { run } from "../../host/run.js";
import type { OutputInput, OutputPlugin, StackView } from "../types.js";
import { DirOutput } from "./schema.js";
import { syncDirOutput } from "./sync.js";

interface TreeState {
  layers: { key: string; module: string }[];
}

const statePath = (target: string) => join(dirname(target), `.${basename(target)}.layers.json`);

function readState(target: string): TreeState | undefined {
  try {
    const state = JSON.parse(readFileSync(statePath(target), "utf8")) as TreeState;
    return lstatSync(target).isDirectory() ? state : undefined;
  } catch {
    return undefined;
  }
}

/** The modules that differ between the tree's layers and the stack's, when an update can work. */
export function changedModules(previous: TreeState, stack: StackView): string[] | undefined {
  const now = stack.layers;
  let common = 0;
  while (common < previous.layers.length && previous.layers[common]?.key === now[common]?.key)
    common++;
  if (common === 0) return undefined;
  const changed = [
    ...previous.layers.slice(common).map((l) => l.module),
    ...now.slice(common).map((l) => l.module),
  ];
  return changed.every((m) => existsSync(m)) ? changed : undefined;
}

async function copyWhole({ env, stack, target, scratch }: OutputInput<DirOutput>): Promise<void> {
  const tree = join(scratch, "tree");
  await stack.withRoot((root) =>
    env.run("cp", ["-a", `${root.nsPath}/.`, `${tree}/`], {
      onLine: (l) => env.reporter.detail(l),
    }),
  );
  rmSync(target, { recursive: true, force: true });
  renameSync(tree, target);
}

/**
 * Puts the build's own tree of the bottom layer in place of the output, when the build has one
 * to give and it can be moved there: the layers above are then added as an update in place.
 */
function adoptBase({ stack, target }: OutputInput<DirOutput>): boolean {
  const tree = stack.takeBaseTree();
  if (!tree) return false;
  rmSync(target, { recursive: true, force: true });
  try {
    renameSync(tree, target);
    return true;
  } catch {
    return false; // another filesystem: the build removes the tree, the output copies
  }
}

export const dirOutput: OutputPlugin<DirOutput> = {
  type: "dir",
  schema: DirOutput,
  tools: () => ["mount", "unsquashfs", "tar"],
  fileName: (_o, name) => name,
  async write(input) {
    const { stack, target, scratch, env } = input;
    const previous = readState(target);
    let changed = previous && changedModules(previous, stack);
    // Until the tree is complete again it records nothing: an interrupted update copies whole.
    rmSync(statePath(target), { force: true });
    // The bottom layer's own tree in place: what is left to add are the layers above it.
    if (!changed && adoptBase(input)) changed = stack.layers.slice(1).map((l) => l.module);
    if (changed) {
      const { paths } = await stack.withRoot((root) =>
        syncDirOutput({ target, merged: root.path, changedModules: changed, run, scratch }),
      );
      env.reporter.detail(`${paths} paths updated in place`);
    } else {
      await copyWhole(input);
    }
    const state: TreeState = {
      layers: stack.layers.map((l) => ({ key: l.key, module: l.module })),
    };
    writeFileSync(statePath(target), `${JSON.stringify(state, null, 2)}\n`);
  },
};
