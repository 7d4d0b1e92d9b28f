/**
 * Starts the proxy bridge (host/proxy-bridge.ts) inside a build namespace and waits until it
 * listens, so the first apt command of the build finds it.
 */
import { fileURLToPath } from "node:url";
import { StrataError } from "../errors.js";
import type { Namespace } from "./namespace.js";
import { type ProcessHandle, start } from "./run.js";

/** Where apt inside the build namespace finds the mirror proxy (127.0.0.1 of that namespace). */
export const PROXY_PORT = 3142;

const SCRIPT = fileURLToPath(new URL("./proxy-bridge.js", import.meta.url));

export async function startProxyBridge(
  ns: Namespace,
  socket: string,
  port: number,
): Promise<ProcessHandle> {
  const bridge = start([process.execPath, SCRIPT, socket, String(port)], {
    ns,
    stdio: ["pipe", "pipe", "pipe"],
  });
  const ready = await new Promise<boolean>((resolve) => {
    let seen = "";
    bridge.stdout?.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes("ready")) resolve(true);
    });
    void bridge.exited.then(() => resolve(false));
  });
  if (!ready) {
    bridge.release();
    throw new StrataError(
      "E_COMMAND_FAILED",
      `the build's proxy bridge did not start: ${bridge.stderrTail(5)}`,
      { hint: "strata needs a kernel with network namespaces" },
    );
  }
  return bridge;
}
