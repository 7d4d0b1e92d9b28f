/**
 * `type: dir`: the merged root filesystem of the output's layer stack as a directory tree
 * (`<out>/<name>/`), with owners, modes, device nodes and extended attributes preserved.
 * What an upper layer deleted is absent, as in the running system.
 */
import { renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { OutputPlugin } from "../types.js";
import { DirOutput } from "./schema.js";

export const dirOutput: OutputPlugin<DirOutput> = {
  type: "dir",
  schema: DirOutput,
  tools: () => ["mount"],
  fileName: (_o, name) => name,
  async write({ env, stack, target, scratch }) {
    const tree = join(scratch, "tree");
    await stack.withRoot((root) =>
      env.run("cp", ["-a", `${root.nsPath}/.`, `${tree}/`], {
        onLine: (l) => env.reporter.detail(l),
      }),
    );
    rmSync(target, { recursive: true, force: true });
    renameSync(tree, target);
  },
};
