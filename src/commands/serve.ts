/**
 * `strata serve DIR`: serves an update repository or a build's output over HTTP
 * (src/serve/server.ts) until the process is interrupted. Binds 127.0.0.1 unless told
 * otherwise: a device on QEMU's user network reaches the host's loopback as 10.0.2.2.
 */
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { StrataError } from "../errors.js";
import { type RunningServer, type ServeOptions, startServer } from "../serve/server.js";

export async function serve(
  dir: string,
  options: Omit<ServeOptions, "dir">,
  onListening: (server: RunningServer) => void,
): Promise<void> {
  const root = resolve(dir);
  let isDir = false;
  try {
    isDir = statSync(root).isDirectory();
  } catch {}
  if (!isDir) {
    throw new StrataError("E_USAGE", `${dir} is not a directory`, {
      hint: "serve an update repository (strata publish --repo) or a build's output directory",
    });
  }
  let server: RunningServer;
  try {
    server = await startServer({ ...options, dir: root });
  } catch (e) {
    throw new StrataError(
      "E_USAGE",
      `cannot listen on ${options.bind ?? "127.0.0.1"}:${options.port ?? 0}: ${(e as Error).message}`,
      { hint: "choose another --port (0 picks a free one)", cause: e },
    );
  }
  onListening(server);
  // Serves until the process ends (Ctrl-C, SIGTERM): the listening socket keeps it alive.
  await new Promise<never>(() => undefined);
}
