/**
 * binfmt_misc registrations shared between strata processes, against a temporary directory that
 * plays binfmt_misc (a `register` file that keeps what was written to it; the test acts as the
 * kernel) and a temporary state directory: the last user unregisters, a user that is gone is
 * dropped, and a registration strata did not make is never removed.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { processId } from "../../src/cache/lock.js";
import { StrataError } from "../../src/errors.js";
import { type BinfmtPaths, useBinfmt } from "../../src/host/binfmt.js";
import { tempDir } from "../helpers.js";

const LINE =
  ":qemu-aarch64:M::\\x7fELF\\x02:\\xff\\xff\\xff:/usr/libexec/qemu-binfmt/aarch64-binfmt-P:OCP";

const dirs: string[] = [];
const children: ReturnType<typeof spawn>[] = [];
after(() => {
  for (const c of children) c.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fake binfmt_misc, strata state dir and qemu-user-static conf dir. */
function fakeHost() {
  const root = tempDir("strata-binfmt-");
  dirs.push(root);
  const paths: BinfmtPaths = {
    binfmt: join(root, "binfmt_misc"),
    state: join(root, "state"),
    conf: join(root, "binfmt.d"),
  };
  mkdirSync(paths.binfmt);
  mkdirSync(paths.conf);
  writeFileSync(join(paths.conf, "qemu-aarch64.conf"), `# qemu-user-static\n${LINE}\n`);
  const register = join(paths.binfmt, "register");
  const entry = join(paths.binfmt, "qemu-aarch64");
  writeFileSync(register, "");
  return {
    paths,
    entry,
    /** What was written to `register` since the last call; the kernel's part is played here. */
    registered(): string {
      const written = readFileSync(register, "utf8");
      writeFileSync(register, "");
      if (written) writeFileSync(entry, "enabled\ninterpreter /usr/libexec/qemu-binfmt/x\n");
      return written;
    },
    /** Whether strata unregistered the entry (wrote -1 to it), as the kernel would then drop it. */
    unregistered(): boolean {
      if (!existsSync(entry) || readFileSync(entry, "utf8") !== "-1") return false;
      rmSync(entry);
      return true;
    },
    users(): string[] {
      const state = JSON.parse(readFileSync(join(paths.state, "state.json"), "utf8"));
      return state["qemu-aarch64"]?.users ?? [];
    },
  };
}

/** Another live process, to stand for another strata build. */
function otherProcess(): string {
  const child = spawn("sleep", ["300"], { stdio: "ignore" });
  children.push(child);
  return processId(child.pid);
}

const log = () => {};

describe("useBinfmt", () => {
  it("registers once for two builds and unregisters when the last one leaves", async () => {
    const host = fakeHost();
    const me = processId();
    const other = otherProcess();
    const leaveA = await useBinfmt("arm64", log, host.paths, me);
    // The package's line, with F so the interpreter works inside the build root.
    assert.equal(host.registered(), `${LINE}F`);
    const leaveB = await useBinfmt("arm64", log, host.paths, other);
    assert.equal(host.registered(), "", "registered once");
    assert.deepEqual(host.users(), [me, other]);

    await leaveA();
    assert.equal(host.unregistered(), false, "the other build still uses it");
    assert.deepEqual(host.users(), [other]);
    await leaveB();
    assert.equal(host.unregistered(), true);
    assert.deepEqual(host.users(), []);
  });

  it("after a killed build, the next one uses its registration and removes it when done", async () => {
    const host = fakeHost();
    await useBinfmt("arm64", log, host.paths, "999999999 1"); // killed: never leaves
    assert.notEqual(host.registered(), "");
    const me = processId();
    const leave = await useBinfmt("arm64", log, host.paths, me);
    assert.equal(host.registered(), "", "the registration is still there and works");
    assert.deepEqual(host.users(), [me], "the user that is gone was dropped");
    await leave();
    assert.equal(host.unregistered(), true);
  });

  it("never removes a registration strata did not make", async () => {
    const host = fakeHost();
    writeFileSync(host.entry, "enabled\ninterpreter /usr/bin/qemu-aarch64-static\n");
    const leave = await useBinfmt("arm64", log, host.paths, processId());
    assert.equal(host.registered(), "");
    await leave();
    assert.equal(readFileSync(host.entry, "utf8").startsWith("enabled"), true);
  });

  it("refuses a disabled registration, and one it has no emulator for", async () => {
    const host = fakeHost();
    writeFileSync(host.entry, "disabled\n");
    await assert.rejects(
      useBinfmt("arm64", log, host.paths, processId()),
      (e: unknown) => e instanceof StrataError && e.code === "E_BINFMT",
    );
    await assert.rejects(
      useBinfmt("riscv64", log, host.paths, processId()),
      (e: unknown) => e instanceof StrataError && e.code === "E_BINFMT",
    );
  });
});
