/**
 * A private OCI registry for the tests: Debian's docker-registry (distribution/registry) on
 * 127.0.0.1 with its own storage directory, started and stopped by the test.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

export const REGISTRY = "/usr/bin/docker-registry";
export const REGISTRY_SKIP =
  existsSync(REGISTRY) && existsSync("/usr/bin/skopeo")
    ? false
    : "needs docker-registry and skopeo (apt-get install docker-registry skopeo)";

export async function freePort(): Promise<number> {
  return new Promise((done) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => done(port));
    });
  });
}

/** Starts a registry on 127.0.0.1:`port` storing under `dir`; resolves once it answers. */
export async function startRegistry(dir: string, port: number): Promise<ChildProcess> {
  const config = join(dir, "config.yml");
  writeFileSync(
    config,
    `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, "storage")}\nhttp:\n  addr: 127.0.0.1:${port}\nlog:\n  level: error\n`,
  );
  const child = spawn(REGISTRY, ["serve", config], { stdio: "ignore" });
  for (let i = 0; i < 100; i++) {
    const up = await fetch(`http://127.0.0.1:${port}/v2/`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error("the registry did not start");
}
