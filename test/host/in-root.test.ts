/**
 * Paths inside a layer's tree: real temporary trees with the symlinks a hostile layer would
 * make (absolute ones to host files made in another temporary directory, `../` escapes,
 * symlinked parents, loops, FIFOs), and the host files checked unchanged afterwards.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { StrataError } from "../../src/errors.js";
import {
  copyFileFromRoot,
  emptyDirInRoot,
  freshPathInRoot,
  mkdirInRoot,
  readFileInRoot,
  removeInRoot,
  removeTreeInRoot,
  resolveInRoot,
  tryReadFileInRoot,
  writeFileInRoot,
} from "../../src/host/in-root.js";
import { isRoot, tempDir } from "../helpers.js";

const layerError = (pattern: RegExp | string) => (e: unknown) =>
  e instanceof StrataError &&
  e.code === "E_LAYER_FILE" &&
  (typeof pattern === "string" ? e.message === pattern : pattern.test(e.message));

describe("in-root paths", () => {
  let root: string;
  let host: string;
  let secret: string;
  const SECRET = "host secret, never to be read\n";

  before(() => {
    root = tempDir("strata-inroot-");
    host = tempDir("strata-host-");
    secret = join(host, "shadow");
    writeFileSync(secret, SECRET);
    const put = (rel: string, content: string) => {
      mkdirSync(join(root, rel, ".."), { recursive: true });
      writeFileSync(join(root, rel), content);
    };
    put("boot/real", "kernel\n");
    put("etc/hostname", "image\n");
    symlinkSync("/boot/real", join(root, "boot/vmlinuz-good"));
    symlinkSync(secret, join(root, "boot/vmlinuz-abs")); // absolute path of a host file
    symlinkSync(`../../../../../../../..${secret}`, join(root, "boot/vmlinuz-rel"));
    symlinkSync("/etc/hostname", join(root, "boot/vmlinuz-etc"));
    symlinkSync(host, join(root, "hostdir")); // a symlinked directory to the host
    symlinkSync("loop-b", join(root, "loop-a"));
    symlinkSync("loop-a", join(root, "loop-b"));
    execFileSync("mkfifo", [join(root, "boot/fifo")]);
  });
  after(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(host, { recursive: true, force: true });
  });

  it("resolves absolute symlinks from the root and clamps `..` at it", () => {
    assert.equal(resolveInRoot(root, "/boot/vmlinuz-good").rel, "boot/real");
    const abs = resolveInRoot(root, "boot/vmlinuz-abs");
    assert.equal(abs.stat, undefined);
    assert.ok(abs.path.startsWith(`${root}/`), abs.path);
    assert.equal(abs.rel, secret.slice(1).split("/")[0], "the first missing component");
    const rel = resolveInRoot(root, "/boot/vmlinuz-rel");
    assert.equal(rel.stat, undefined);
    assert.ok(rel.path.startsWith(`${root}/`));
    assert.equal(resolveInRoot(root, "../../..").rel, "");
    assert.equal(resolveInRoot(root, "/boot/../../etc/hostname").rel, "etc/hostname");
    assert.equal(resolveInRoot(root, "hostdir/shadow").stat, undefined);
    assert.ok(
      resolveInRoot(root, "boot/vmlinuz-good", { followLast: false }).stat?.isSymbolicLink(),
    );
  });

  it("reads through symlinks inside the root and never a host file", () => {
    assert.equal(readFileInRoot(root, "/boot/vmlinuz-good").toString(), "kernel\n");
    assert.equal(readFileInRoot(root, "/boot/vmlinuz-etc").toString(), "image\n");
    assert.throws(
      () => readFileInRoot(root, "/boot/vmlinuz-abs"),
      layerError(
        `/boot/vmlinuz-abs in the layer's tree: missing (it leads to /${secret.split("/")[1]} inside the tree)`,
      ),
    );
    assert.throws(() => readFileInRoot(root, "/boot/vmlinuz-rel"), layerError(/missing/));
    assert.throws(() => readFileInRoot(root, "/hostdir/shadow"), layerError(/missing/));
    assert.equal(tryReadFileInRoot(root, "/hostdir/shadow"), undefined);
    assert.equal(tryReadFileInRoot(root, "/nothing/here"), undefined);
  });

  it("reads the root's own copy of the path the symlink names", () => {
    const copy = join(root, secret);
    mkdirSync(join(copy, ".."), { recursive: true });
    writeFileSync(copy, "the image's own file\n");
    try {
      assert.equal(readFileInRoot(root, "boot/vmlinuz-abs").toString(), "the image's own file\n");
      assert.equal(readFileInRoot(root, "boot/vmlinuz-rel").toString(), "the image's own file\n");
    } finally {
      rmSync(join(root, secret.split("/")[1] as string), { recursive: true, force: true });
    }
  });

  it("refuses loops, FIFOs, directories and non-directory parents", () => {
    assert.throws(() => readFileInRoot(root, "loop-a"), layerError(/more than 40 symlinks/));
    assert.throws(() => readFileInRoot(root, "boot/fifo"), layerError(/a FIFO, not a regular/));
    assert.throws(() => readFileInRoot(root, "boot"), layerError(/a directory, not a regular/));
    assert.throws(
      () => readFileInRoot(root, "etc/hostname/x"),
      layerError(/\/etc\/hostname is not a directory/),
    );
  });

  it("refuses a device node without opening it", { skip: isRoot ? false : "needs root" }, () => {
    execFileSync("mknod", [join(root, "boot/mem"), "c", "1", "1"]);
    assert.throws(() => readFileInRoot(root, "boot/mem"), layerError(/a device node, not a/));
  });

  it("copies a file out and never a host file", () => {
    const out = tempDir("strata-staging-");
    try {
      copyFileFromRoot(root, "boot/vmlinuz-good", join(out, "vmlinuz"));
      assert.equal(readFileSync(join(out, "vmlinuz"), "utf8"), "kernel\n");
      assert.throws(
        () => copyFileFromRoot(root, "boot/vmlinuz-abs", join(out, "abs")),
        layerError(/vmlinuz-abs.*missing/),
      );
      assert.equal(existsSync(join(out, "abs")), false);
      // The destination is not followed either.
      symlinkSync(secret, join(out, "link"));
      assert.throws(() => copyFileFromRoot(root, "boot/vmlinuz-good", join(out, "link")));
      assert.equal(readFileSync(secret, "utf8"), SECRET);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it("removes trees and empties directories as OCI whiteouts do, never through a symlink", () => {
    writeFileSync(join(host, "keep"), "host\n");
    const tree = tempDir("strata-wh-");
    try {
      mkdirSync(join(tree, "opt/dir/sub"), { recursive: true });
      writeFileSync(join(tree, "opt/dir/sub/f"), "x");
      writeFileSync(join(tree, "opt/dir/g"), "x");
      symlinkSync(host, join(tree, "opt/dir/hostlink"));
      symlinkSync(host, join(tree, "link"));
      assert.equal(removeTreeInRoot(tree, "link/keep"), false, "not through a symlink");
      emptyDirInRoot(tree, "link");
      assert.equal(readFileSync(join(host, "keep"), "utf8"), "host\n");
      emptyDirInRoot(tree, "opt/dir");
      assert.deepEqual(readdirSync(join(tree, "opt/dir")), []);
      assert.equal(
        readFileSync(join(host, "keep"), "utf8"),
        "host\n",
        "a link is removed, not followed",
      );
      assert.equal(removeTreeInRoot(tree, "opt"), true);
      assert.equal(existsSync(join(tree, "opt")), false);
      assert.equal(removeTreeInRoot(tree, "link"), true);
      assert.equal(readFileSync(join(host, "keep"), "utf8"), "host\n");
      assert.equal(removeTreeInRoot(tree, "missing"), false);
      assert.equal(removeTreeInRoot(tree, "../x"), false);
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });

  it("removes without following a symlinked parent or the file itself", () => {
    writeFileSync(join(host, "lock"), "host lock\n");
    const tree = tempDir("strata-upper-");
    try {
      mkdirSync(join(tree, "var/lib"), { recursive: true });
      symlinkSync(host, join(tree, "var/lib/dpkg"));
      assert.equal(removeInRoot(tree, "var/lib/dpkg/lock"), false);
      assert.equal(readFileSync(join(host, "lock"), "utf8"), "host lock\n");
      symlinkSync(join(host, "lock"), join(tree, "var/lock-link"));
      assert.equal(removeInRoot(tree, "var/lock-link"), true);
      assert.equal(existsSync(join(tree, "var/lock-link")), false);
      assert.equal(readFileSync(join(host, "lock"), "utf8"), "host lock\n");
      assert.equal(removeInRoot(tree, "var/lib"), false, "never a directory");
      assert.ok(lstatSync(join(tree, "var/lib")).isDirectory());
      writeFileSync(join(tree, "var/full"), "x");
      assert.equal(
        removeInRoot(tree, "var/full", (st) => st.size === 0),
        false,
      );
      assert.equal(removeInRoot(tree, "var/full"), true);
      assert.equal(removeInRoot(tree, "var/../var/full"), false, "no `..`");
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });

  it("writes inside the root, replacing symlinks instead of writing through them", () => {
    const tree = tempDir("strata-flat-");
    try {
      symlinkSync(host, join(tree, "etc")); // /etc -> a host directory
      mkdirSync(join(tree, "boot"));
      symlinkSync(secret, join(tree, "boot/vmlinuz-1")); // a file -> a host file
      writeFileInRoot(tree, "/etc/fstab", "fstab\n");
      assert.equal(existsSync(join(host, "fstab")), false);
      assert.equal(readFileSync(join(tree, host, "fstab"), "utf8"), "fstab\n");
      assert.equal(readlinkSync(join(tree, "etc")), host, "the image's symlink is kept");
      writeFileInRoot(tree, "/boot/vmlinuz-1", "kernel\n");
      assert.ok(lstatSync(join(tree, "boot/vmlinuz-1")).isFile());
      assert.equal(readFileSync(secret, "utf8"), SECRET);
      assert.equal(mkdirInRoot(tree, "/boot/grub"), join(tree, "boot/grub"));
      assert.equal(freshPathInRoot(tree, "/boot/grub/grub.cfg"), join(tree, "boot/grub/grub.cfg"));
      assert.throws(() => freshPathInRoot(tree, "/boot"), layerError(/a directory/));
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });
});
