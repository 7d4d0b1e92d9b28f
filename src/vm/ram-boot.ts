/**
 * Booting the outputs that run from RAM, for `strata run` and the boot tests:
 *
 *   - a live directory (live.json): QEMU loads its kernel and initramfs, and root.sqfs is a
 *     read-only virtio disk that `strata.live=auto` finds;
 *   - a netboot directory (netboot.json): served by strata's HTTP server on 127.0.0.1 (the
 *     guest reaches it as 10.0.2.2 through QEMU's user network), then either a direct kernel
 *     boot with strata.fetch= pointing at that server, or a real PXE boot: SeaBIOS runs the
 *     NIC's iPXE ROM, QEMU's DHCP and TFTP hand it a boot.ipxe for that server, and iPXE
 *     fetches the kernel and initramfs over HTTP.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { z } from "zod";
import { StrataError } from "../errors.js";
import { trackForReaping } from "../host/cleanups.js";
import { LIVE_FILES, LIVE_SIDECAR, LiveSidecar } from "../outputs/live/sidecar.js";
import { ipxeScript, withFetchUrl } from "../outputs/netboot/ipxe.js";
import { NETBOOT_SIDECAR, NetbootSidecar } from "../outputs/netboot/sidecar.js";
import { type RunningServer, startServer } from "../serve/server.js";
import type { VmArch } from "./argv.js";
import type { LaunchOptions } from "./launch.js";

/** The host's loopback as a guest on QEMU's user network sees it. */
export const GUEST_HOST = "10.0.2.2";

/** What a live or netboot directory boots with: LaunchOptions without the common ones. */
export interface RamBoot {
  arch: VmArch;
  launch: Pick<LaunchOptions, "kernel" | "drives" | "pxe" | "arch" | "boot" | "memoryMiB">;
  /** The guest's serial console */
  console: string;
  /** The netboot server (its stats count what the guest fetched) */
  server?: RunningServer;
  close(): Promise<void>;
}

function readSidecar<T>(dir: string, file: string, schema: z.ZodType<T>, what: string): T {
  const path = join(dir, file);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new StrataError("E_USAGE", `${dir} is not a ${what} directory: ${file} is missing`, {
      hint: `pass a directory a \`type: ${what}\` output wrote (<out>/<name>.${what}), or a recipe`,
    });
  }
  const parsed = schema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new StrataError("E_USAGE", `${path} is not a description this strata reads`, {
      hint: "build it again with this strata",
    });
  }
  return parsed.data;
}

export function isLiveDir(path: string): boolean {
  try {
    readFileSync(join(path, LIVE_SIDECAR));
    return true;
  } catch {
    return false;
  }
}

export function isNetbootDir(path: string): boolean {
  try {
    readFileSync(join(path, NETBOOT_SIDECAR));
    return true;
  } catch {
    return false;
  }
}

export function liveBoot(dir: string): RamBoot {
  const root = resolve(dir);
  const s = readSidecar(root, LIVE_SIDECAR, LiveSidecar, "live");
  return {
    arch: s.arch,
    console: s.console,
    launch: {
      arch: s.arch,
      // QEMU loads the kernel itself: SeaBIOS on amd64, no firmware on arm64.
      boot: "bios",
      kernel: {
        path: join(root, LIVE_FILES.vmlinuz),
        initrd: join(root, LIVE_FILES.initrd),
        append: s.cmdline,
      },
      drives: [{ path: join(root, LIVE_FILES.root), readonly: true }],
    },
    close: async () => undefined,
  };
}

export interface NetbootBootOptions {
  /** A real PXE boot through iPXE rather than a direct kernel boot */
  pxe?: boolean;
  /** The server's request log (JSON lines) */
  log?: string;
}

export async function netbootBoot(dir: string, options: NetbootBootOptions = {}): Promise<RamBoot> {
  const root = resolve(dir);
  const s = readSidecar(root, NETBOOT_SIDECAR, NetbootSidecar, "netboot");
  const server = await startServer({ dir: root, bind: "127.0.0.1", port: 0, log: options.log });
  const url = `http://${GUEST_HOST}:${server.port}`;
  const cmdline = withFetchUrl(s.cmdline, url);
  const memoryMiB = Math.max(1024, s.ramMiB);
  const base = { arch: s.arch, console: s.console, server };
  if (!options.pxe) {
    return {
      ...base,
      launch: {
        arch: s.arch,
        boot: "bios",
        memoryMiB,
        kernel: { path: join(root, s.vmlinuz), initrd: join(root, s.initrd), append: cmdline },
      },
      close: () => server.close(),
    };
  }
  // QEMU's TFTP serves a boot.ipxe made for this server: the directory's own names `url`.
  const tftp = mkdtempSync(join(tmpdir(), "strata-tftp-"));
  const untrack = trackForReaping({ paths: [tftp] });
  const title = `${s.recipe} (netboot)`;
  const { vmlinuz, initrd } = s;
  writeFileSync(join(tftp, "boot.ipxe"), ipxeScript({ url, title, vmlinuz, initrd, cmdline }));
  return {
    ...base,
    launch: { arch: s.arch, boot: "bios", memoryMiB, pxe: { tftp, bootfile: "boot.ipxe" } },
    async close() {
      await server.close();
      rmSync(tftp, { recursive: true, force: true });
      untrack();
    },
  };
}
