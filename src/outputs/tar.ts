/**
 * `type: tar` (`compression: zstd | gzip | none`, default zstd): the merged root filesystem as
 * one tarball, `<out>/<name>.tar.zst`, entries sorted, numeric owners, extended attributes
 * kept; ready for `docker import`, `machinectl import-tar` or `tar -x` onto a partition.
 */
import { renameSync } from "node:fs";
import { join } from "node:path";
import { mountStack } from "../build/stack.js";
import { run } from "../host/run.js";
import type { Output } from "../recipe/schema.js";
import type { OutputType } from "./types.js";

const compression = (o: Output) => (o.type === "tar" ? o.compression : "none");
const suffix = { none: "", gzip: ".gz", zstd: ".zst" } as const;

export const tarOutput: OutputType = {
  type: "tar",
  tools: (o) => {
    const c = compression(o);
    return c === "zstd" ? ["tar", "zstd"] : c === "gzip" ? ["tar", "gzip"] : ["tar"];
  },
  fileName: (o, name) => `${name}.tar${suffix[compression(o)]}`,
  async write({ ctx, output, modules, target, scratch }) {
    const ns = await ctx.namespace();
    const stack = await mountStack(ns, modules, join(scratch, "mnt"), "none");
    const file = join(scratch, "out.tar");
    const c = compression(output);
    const filter = c === "zstd" ? ["--zstd"] : c === "gzip" ? ["--gzip"] : [];
    try {
      await run(
        "tar",
        [
          "-C",
          stack.root,
          "--sort=name",
          "--numeric-owner",
          "--xattrs",
          "--xattrs-include=*",
          "--acls",
          ...filter,
          "-cf",
          file,
          ".",
        ],
        { ns, env: { ZSTD_NBTHREADS: "0" } },
      );
    } finally {
      await stack.unmount();
    }
    renameSync(file, target);
  },
};
