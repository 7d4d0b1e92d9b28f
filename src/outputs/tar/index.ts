/**
 * `type: tar` (`compression: zstd | gzip | none`, default zstd): the merged root filesystem as
 * one tarball, `<out>/<name>.tar.zst`, entries sorted, numeric owners, extended attributes
 * kept; ready for `docker import`, `machinectl import-tar` or `tar -x` onto a partition.
 * tar runs on the mounted stack without `-h`: a layer's symlinks are stored as symlinks, so
 * one that points at a host path (`/etc/shadow`) never brings the host's file into the tarball.
 */
import { renameSync } from "node:fs";
import { join } from "node:path";
import type { OutputPlugin } from "../types.js";
import { TarOutput } from "./schema.js";

const suffix = { none: "", gzip: ".gz", zstd: ".zst" } as const;
const filter = { none: [], gzip: ["--gzip"], zstd: ["--zstd"] } as const;

export const tarOutput: OutputPlugin<TarOutput> = {
  type: "tar",
  schema: TarOutput,
  tools: (o) => (o.compression === "none" ? ["tar"] : ["tar", o.compression]),
  fileName: (o, name) => `${name}.tar${suffix[o.compression]}`,
  async write({ output, env, stack, target, scratch }) {
    const file = join(scratch, "out.tar");
    await stack.withRoot((root) =>
      env.run(
        "tar",
        [
          "-C",
          root.nsPath,
          "--sort=name",
          "--numeric-owner",
          "--xattrs",
          "--xattrs-include=*",
          "--acls",
          ...filter[output.compression],
          "-cf",
          file,
          ".",
        ],
        { env: { ZSTD_NBTHREADS: "0" } },
      ),
    );
    renameSync(file, target);
  },
};
