/**
 * mountStack without root, through the FakeRunner: the mounts it makes (each module
 * loop-mounted read-only, overlayfs on top with the lowers top first), all entered into the
 * namespace; unmounting in reverse; and unmounting what it mounted when a later mount fails.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { rmSync } from "node:fs";
import { mountStack, NO_FILE_HANDLES, OVERLAY_OPTIONS } from "../../src/build/stack.js";
import type { StrataError } from "../../src/errors.js";
import { FakeRunner } from "../../src/host/fake-runner.js";
import type { Namespace } from "../../src/host/namespace.js";
import { withRunner } from "../../src/host/run.js";
import { tempDir } from "../helpers.js";

const base = tempDir("strata-stack-test-");
after(() => rmSync(base, { recursive: true, force: true }));

const ns = {
  wrap: (argv: readonly string[]) => ["nsenter", "--target=7", "--mount", "--pid", "--", ...argv],
  view: (path: string) => `/proc/7/root${path}`,
} as unknown as Namespace;

let n = 0;
const freshDir = () => join(base, String(++n));

describe("mountStack", () => {
  it("loop-mounts the modules and stacks them on a tmpfs upper, in the namespace", async () => {
    const dir = freshDir();
    const fake = new FakeRunner();
    const stack = await withRunner(fake, () =>
      mountStack(ns, ["/c/base.sqfs", "/c/sys.sqfs"], dir, "tmpfs"),
    );
    assert.equal(stack.root, `${dir}/merged`);
    assert.deepEqual(fake.commands(), [
      `mount -t squashfs -o loop,ro /c/base.sqfs ${dir}/lower/01`,
      `mount -t squashfs -o loop,ro /c/sys.sqfs ${dir}/lower/02`,
      `mount -t tmpfs -o mode=0755 strata-upper ${dir}/tmpfs`,
      `mkdir -p ${dir}/tmpfs/upper ${dir}/tmpfs/work`,
      `setpriv ${NO_FILE_HANDLES.join(" ")} mount -t overlay -o lowerdir=${dir}/lower/02:${dir}/lower/01,upperdir=${dir}/tmpfs/upper,workdir=${dir}/tmpfs/work,${OVERLAY_OPTIONS} strata ${dir}/merged`,
    ]);
    for (const call of fake.calls) assert.deepEqual(call.argv, ns.wrap(call.command));

    await withRunner(fake, () => stack.unmount());
    assert.deepEqual(fake.commands().slice(5), [
      `umount ${dir}/merged`,
      `umount ${dir}/tmpfs`,
      `umount ${dir}/lower/02`,
      `umount ${dir}/lower/01`,
    ]);
    await withRunner(fake, () => stack.unmount());
    assert.equal(fake.calls.length, 9, "a second unmount does nothing");
  });

  it("uses a single read-only module as the root itself", async () => {
    const dir = freshDir();
    const fake = new FakeRunner();
    const stack = await withRunner(fake, () => mountStack(ns, ["/c/base.sqfs"], dir, "none"));
    assert.equal(stack.root, `${dir}/lower/01`);
    assert.deepEqual(fake.commands(), [
      `mount -t squashfs -o loop,ro /c/base.sqfs ${dir}/lower/01`,
    ]);
  });

  it("gives the overlay the upper directory it is given", async () => {
    const dir = freshDir();
    const upper = { upper: join(dir, "u"), work: join(dir, "w") };
    const fake = new FakeRunner();
    await withRunner(fake, () => mountStack(ns, ["/c/a.sqfs"], dir, upper));
    assert.match(
      fake.commands().at(-1) ?? "",
      new RegExp(`lowerdir=${dir}/lower/01,upperdir=${dir}/u,workdir=${dir}/w,`),
    );
  });

  it("unmounts what it mounted, in reverse, when a later mount fails", async () => {
    const dir = freshDir();
    const fake = new FakeRunner().on(/^setpriv .* mount -t overlay /, {
      exitCode: 32,
      output: "mount: wrong fs type\n",
    });
    await withRunner(fake, () =>
      assert.rejects(
        mountStack(ns, ["/c/a.sqfs", "/c/b.sqfs"], dir, "tmpfs"),
        (e: StrataError) =>
          e.code === "E_COMMAND_FAILED" &&
          /exit code 32: setpriv .* mount -t overlay/.test(e.message) &&
          /wrong fs type$/.test(e.message),
      ),
    );
    assert.deepEqual(fake.commands().slice(-3), [
      `umount ${dir}/tmpfs`,
      `umount ${dir}/lower/02`,
      `umount ${dir}/lower/01`,
    ]);
  });

  it("unmounts the first module when the second cannot be mounted", async () => {
    const dir = freshDir();
    const fake = new FakeRunner().on(/b\.sqfs/, { exitCode: 32 });
    await withRunner(fake, () =>
      assert.rejects(mountStack(ns, ["/c/a.sqfs", "/c/b.sqfs"], dir, "none")),
    );
    assert.deepEqual(fake.commands(), [
      `mount -t squashfs -o loop,ro /c/a.sqfs ${dir}/lower/01`,
      `mount -t squashfs -o loop,ro /c/b.sqfs ${dir}/lower/02`,
      `umount ${dir}/lower/01`,
    ]);
  });
});
