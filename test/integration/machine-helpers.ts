/** What the boot tests do with a booted machine: log in, run commands that must succeed. */
import assert from "node:assert/strict";
import type { Machine } from "../../src/vm/machine.js";

/** Root's password in the example recipes the boot tests build. */
export const PASSWORD = "strata";

/** Runs `command` on the guest's console; its exit status must be 0. */
export async function ok(m: Machine, command: string, timeoutMs?: number): Promise<string> {
  const r = await m.exec(command, { timeoutMs });
  assert.equal(r.status, 0, `${command} exited ${r.status}:\n${r.output}`);
  return r.output;
}

/** Logs in as root, runs `fn`, and always stops QEMU; a failure quotes the console. */
export async function whileLoggedIn(m: Machine, fn: (m: Machine) => Promise<void>): Promise<void> {
  try {
    await m.login("root", PASSWORD);
    await fn(m);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- console ---\n${m.tail(40)}`, { cause: e });
  } finally {
    await m.close();
  }
}
