/**
 * monitorCommand against a real QEMU: SeaBIOS reports each boot on its debug port (0x402),
 * ending with "No bootable device." (there is no disk), so `system_reset` through the monitor
 * socket shows as a second such boot. No guest is needed.
 * QEMU is installed by scripts/setup.sh, so this runs wherever the suite does.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { qemuArgv } from "../../src/vm/argv.js";
import { monitorCommand } from "../../src/vm/monitor.js";
import { startQemu } from "../../src/vm/qemu-process.js";
import { tempDir } from "../helpers.js";

const dir = tempDir("strata-monitor-test-");
after(() => rmSync(dir, { recursive: true, force: true }));

const boots = (text: string) => text.split("No bootable device.").length - 1;

describe("monitorCommand", () => {
  it("resets a real QEMU machine with system_reset", async () => {
    const socket = join(dir, "monitor.sock");
    const argv = qemuArgv({
      arch: "amd64",
      accel: "tcg",
      boot: "bios",
      memoryMiB: 64,
      network: false,
      serial: { kind: "none" },
      monitor: socket,
      extraArgs: ["-chardev", "stdio,id=dbg", "-device", "isa-debugcon,iobase=0x402,chardev=dbg"],
    });
    const qemu = startQemu(argv, ["ignore", "pipe", "pipe"], [dir]);
    try {
      let out = "";
      let waiting: (() => void) | undefined;
      qemu.stdout?.on("data", (b: Buffer) => {
        out += b.toString("utf8");
        waiting?.();
      });
      const printed = (n: number) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no boot ${n}: ${out}`)), 60_000);
          waiting = () => {
            if (boots(out) < n) return;
            clearTimeout(timer);
            resolve();
          };
          waiting();
        });
      await printed(1);
      assert.equal(boots(out), 1);
      await monitorCommand(socket, "system_reset");
      await printed(2);
      assert.equal(boots(out), 2);
    } finally {
      await qemu.kill();
      qemu.release();
    }
  });

  it("fails when nothing listens on the socket", async () => {
    await assert.rejects(monitorCommand(join(dir, "none.sock"), "system_reset"), /ENOENT/);
  });
});
