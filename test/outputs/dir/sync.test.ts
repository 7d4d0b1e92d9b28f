/**
 * The incremental `dir` output update: real squashfs modules (a lower one, an old and a new
 * upper made through a real overlayfs, so whiteouts and opaque directories are the kernel's),
 * real overlay stacks, and a target made by `cp -a` of the old merged tree. After
 * syncDirOutput the target must equal `cp -a` of the new merged tree: path, type, mode, owner,
 * size, content digest, symlink target, device numbers, mtime, xattrs and ACLs. The stacks are
 * mounted on the host and always unmounted; no mount is left behind.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, mkdirSync, openSync, readSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { run } from "../../../src/host/run.js";
import { parseListing, syncDirOutput, tarEntries } from "../../../src/outputs/dir/sync.js";
import { isRoot, mountsUnder, tempDir } from "../../helpers.js";

const sh = (script: string) => execFileSync("sh", ["-euc", script], { encoding: "utf8" });
const hasPython = (() => {
  try {
    execFileSync("python3", ["-c", "import os; os.setxattr"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

describe("parseListing", () => {
  it("reads `unsquashfs -d '' -ls`: the root, then one path a line", () => {
    assert.deepEqual(parseListing("\n/etc\n/etc/a b\n/etc/nl\nname\n"), [
      "",
      "etc",
      "etc/a b",
      "etc/nl",
    ]);
  });
});

/** Every entry of `tree` as one comparable line (via tar, which reads xattrs and ACLs). */
function listing(tree: string, scratch: string): string[] {
  const archive = join(scratch, `listing-${Date.now()}.tar`);
  execFileSync("tar", [
    "-C",
    tree,
    "-c",
    "-f",
    archive,
    "--format=posix",
    "--xattrs",
    "--xattrs-include=*",
    "--acls",
    "--numeric-owner",
    "--sort=name",
    ".",
  ]);
  const lines: string[] = [];
  const fd = openSync(archive, "r");
  try {
    for (const e of tarEntries(archive)) {
      const data = Buffer.alloc(e.type === "0" ? e.size : 0);
      if (data.length > 0) readSync(fd, data, 0, data.length, e.dataOffset);
      const digest = createHash("sha256").update(data).digest("hex").slice(0, 16);
      lines.push(
        [
          JSON.stringify(e.path),
          e.type,
          e.mode.toString(8),
          `${e.uid}:${e.gid}`,
          e.size,
          digest,
          JSON.stringify(e.linkname),
          `${e.devmajor},${e.devminor}`,
          e.mtime,
          JSON.stringify(e.attributes),
        ].join(" "),
      );
    }
  } finally {
    closeSync(fd);
    rmSync(archive, { force: true });
  }
  return lines;
}

describe("syncDirOutput", { skip: isRoot ? false : "needs root (mounts)" }, () => {
  const dir = isRoot ? tempDir("strata-dir-sync-test-") : "";
  const mounted: string[] = [];
  const mount = (args: string[], at: string) => {
    mkdirSync(at, { recursive: true });
    execFileSync("mount", [...args, at]);
    mounted.push(at);
  };
  const unmountAll = () => {
    for (const at of mounted.splice(0).reverse()) execFileSync("umount", [at]);
  };
  /** An upper directory made by doing `script` (in the merged dir, $M) on an overlay over L. */
  const upper = (name: string, script: string, extra = "") => {
    const u = join(dir, name);
    mkdirSync(u);
    mkdirSync(join(dir, `${name}-work`));
    mount(
      [
        "-t",
        "overlay",
        "overlay",
        "-o",
        `lowerdir=${join(dir, "L")},upperdir=${u},workdir=${join(dir, `${name}-work`)}`,
      ],
      join(dir, `${name}-m`),
    );
    try {
      sh(`M='${join(dir, `${name}-m`)}'; cd "$M"; ${script}`);
    } finally {
      unmountAll();
    }
    if (extra) sh(`cd '${u}'; ${extra}`);
    sh(`mksquashfs '${u}' '${u}.sqfs' -noappend -quiet -no-progress -all-time 1700000000`);
    return `${u}.sqfs`;
  };
  const xattr = (path: string, name: string, value: string) =>
    `python3 -c 'import os, sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode())' ${path} ${name} ${value}`;

  let modules: { L: string; U1: string; U2: string };
  before(() => {
    sh(`
      cd '${dir}'; mkdir L; cd L
      mkdir -p etc d/sub opq typechg bin xd
      printf aaaa > etc/a; printf k > etc/keep; printf 1111 > etc/same; printf g > gone
      printf x > d/sub/x; printf y > d/y; printf 1 > opq/l1; printf 2 > opq/l2
      printf i > typechg/inner; printf t > bin/tool; chmod 0755 bin/tool; ln -s etc/a link
      printf s > 'etc/sp ace'; chown 12:34 etc/a; chmod 0700 d
      touch -d @1600000000 etc/* d/sub/x d/y opq/* gone typechg/inner bin/tool
    `);
    const L = join(dir, "L.sqfs");
    sh(`mksquashfs '${dir}/L' '${L}' -noappend -quiet -no-progress -all-time 1700000000`);
    const U1 = upper(
      "U1",
      `printf 2222 > etc/same; printf old > etc/added; rm -rf opq; mkdir opq; printf o > opq/o1
       rm gone; printf X > d/sub/x; ln -s etc/a linkold; mkdir -p olddir/deep; printf f > olddir/deep/f
       printf nl > 'etc/nl
name'; printf s1 > 'etc/sp ace'; printf v1 > xd/f`,
      hasPython ? xattr("xd", "user.old", "1") : "",
    );
    const U2 = upper(
      "U2",
      `printf 3333 > etc/same; printf new > etc/added; printf o > opq/o1
       rm -rf d/sub; mkdir d/sub; printf z > d/sub/z; rm -rf typechg; printf file > typechg
       ln -s ../etc bin/etcdir; mknod etc/null c 1 3; chmod 0640 etc/a; mkdir newdir
       printf NL > 'etc/nl
name'; printf s2 > 'etc/sp ace'; printf v2 > xd/f; chmod 0751 xd`,
      `mknod etc/keep c 0 0${hasPython ? `; ${xattr("etc/added", "user.f", "2")}` : ""}`,
    );
    modules = { L, U1, U2 };
  });
  after(() => {
    try {
      unmountAll();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** Mounts the stacks, makes the target from `from`, syncs it to `to`, compares with `to`. */
  async function check(from: string, to: string, label: string): Promise<number> {
    const root = join(dir, label);
    const stack = (m: string, name: string) => {
      mount(["-t", "squashfs", "-o", "loop,ro", m], join(root, `${name}-sq`));
      return join(root, `${name}-sq`);
    };
    try {
      const l = stack(modules.L, "L");
      const a = stack(from, "from");
      const b = stack(to, "to");
      mount(["-t", "overlay", "overlay", "-o", `lowerdir=${a}:${l}`], join(root, "old"));
      mount(["-t", "overlay", "overlay", "-o", `lowerdir=${b}:${l}`], join(root, "new"));
      const target = join(root, "out", "tree");
      const expected = join(root, "expected");
      mkdirSync(join(root, "out"));
      mkdirSync(target);
      sh(`cp -a '${root}/old/.' '${target}/'`);
      mkdirSync(expected);
      sh(`cp -a '${root}/new/.' '${expected}/'`);
      assert.notDeepEqual(listing(target, root), listing(expected, root), "the stacks differ");
      const { paths } = await syncDirOutput({
        target,
        merged: join(root, "new"),
        changedModules: [from, to],
        run,
        scratch: join(root, "scratch"),
      });
      assert.deepEqual(listing(target, root), listing(expected, root));
      return paths;
    } finally {
      unmountAll();
    }
  }

  it("brings a copy of the old stack to a copy of the new one", async () => {
    const paths = await check(modules.U1, modules.U2, "forward");
    assert.ok(paths > 5 && paths < 40, `synced ${paths} paths`);
  });

  it("and back (opaque dirs and whiteouts appearing, a file becoming a dir)", async () => {
    await check(modules.U2, modules.U1, "back");
  });

  it("syncs nothing when no module changed", async () => {
    const target = join(dir, "same");
    mkdirSync(target);
    writeFileSync(join(target, "f"), "x");
    const r = await syncDirOutput({
      target,
      merged: "/nonexistent",
      changedModules: [],
      run,
      scratch: join(dir, "s"),
    });
    assert.equal(r.paths, 0);
  });

  it("leaves no mounts behind", () => {
    assert.deepEqual(mountsUnder(dir), []);
  });
});
