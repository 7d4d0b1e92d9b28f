/**
 * `type: dir`: the merged root filesystem of the output's layer stack as a directory tree
 * (`<out>/<name>/`), with owners, modes, device nodes and extended attributes preserved.
 * What an upper layer deleted is absent, as in the running system.
 */
import { renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { mountStack } from "../build/stack.js";
import { run } from "../host/run.js";
import type { OutputType } from "./types.js";

export const dirOutput: OutputType = {
  type: "dir",
  tools: () => ["mount"],
  fileName: (_o, name) => name,
  async write({ ctx, modules, target, scratch }) {
    const ns = await ctx.namespace();
    const stack = await mountStack(ns, modules, join(scratch, "mnt"), "none");
    const tree = join(scratch, "tree");
    try {
      await run("cp", ["-a", `${stack.root}/.`, `${tree}/`], {
        ns,
        onLine: (l) => ctx.reporter.detail(l),
      });
    } finally {
      await stack.unmount();
    }
    rmSync(target, { recursive: true, force: true });
    renameSync(tree, target);
  },
};
