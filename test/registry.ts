/**
 * A private OCI registry for the tests: Debian's docker-registry (distribution/registry) on
 * 127.0.0.1 with its own storage directory, started and stopped by the test; optionally with
 * TLS (a CA made by the test) and htpasswd auth.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { request } from "node:https";
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

export interface RegistryTls {
  /** The server's certificate (for 127.0.0.1) and key */
  cert: string;
  key: string;
  /** A directory holding only the CA as ca.crt: what skopeo's --cert-dir reads */
  certDir: string;
}

/**
 * A CA and a server certificate for 127.0.0.1 signed by it, made with openssl under `dir`; the
 * host's own CAs are left alone (skopeo is pointed at certDir).
 */
export function makeTls(dir: string): RegistryTls {
  mkdirSync(join(dir, "certs"), { recursive: true });
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  const key = ["-newkey", "rsa:2048", "-nodes"];
  const ca = ["-keyout", f("ca.key"), "-out", f("certs/ca.crt"), "-subj", "/CN=strata test CA"];
  openssl("req", "-x509", "-days", "1", ...key, ...ca);
  openssl("req", ...key, "-keyout", f("server.key"), "-out", f("server.csr"), "-subj", "/CN=x");
  writeFileSync(f("server.ext"), "subjectAltName=IP:127.0.0.1\n");
  openssl(
    ..."x509 -req -days 1 -set_serial 1".split(" "),
    ...["-in", f("server.csr"), "-CA", f("certs/ca.crt"), "-CAkey", f("ca.key")],
    ...["-extfile", f("server.ext"), "-out", f("server.crt")],
  );
  return { cert: f("server.crt"), key: f("server.key"), certDir: f("certs") };
}

/**
 * One htpasswd line for docker-registry, which takes bcrypt only: libcrypt's crypt(3) makes
 * it, reached through Perl (always on Debian), as no Debian tool installed here does.
 */
export function htpasswdLine(user: string, password: string): string {
  const salt = createHash("sha256").update(user).digest("base64").replace(/[+=]/g, ".");
  const hash = execFileSync(
    "perl",
    ["-e", "print crypt($ARGV[0], '$2b$05$' . $ARGV[1])", password, salt.slice(0, 22)],
    { encoding: "utf8" },
  );
  if (!hash.startsWith("$2b$")) throw new Error(`crypt(3) made no bcrypt hash: ${hash}`);
  return `${user}:${hash}\n`;
}

/** A containers-auth.json (REGISTRY_AUTH_FILE, --authfile) for `host` at `file`. */
export function writeAuthFile(file: string, host: string, user: string, password: string) {
  const auth = Buffer.from(`${user}:${password}`).toString("base64");
  writeFileSync(file, JSON.stringify({ auths: { [host]: { auth } } }));
  return file;
}

export interface RegistryOptions {
  tls?: RegistryTls;
  /** An htpasswd file: the registry then asks for credentials */
  htpasswd?: string;
}

/** Starts a registry on 127.0.0.1:`port` storing under `dir`; resolves once it answers. */
export async function startRegistry(
  dir: string,
  port: number,
  options: RegistryOptions = {},
): Promise<ChildProcess> {
  const config = join(dir, "config.yml");
  const { tls, htpasswd } = options;
  writeFileSync(
    config,
    [
      "version: 0.1",
      `storage: { filesystem: { rootdirectory: ${join(dir, "storage")} } }`,
      "http:",
      `  addr: 127.0.0.1:${port}`,
      ...(tls ? [`  tls: { certificate: ${tls.cert}, key: ${tls.key} }`] : []),
      ...(htpasswd ? [`auth: { htpasswd: { realm: strata-test, path: ${htpasswd} } }`] : []),
      "log: { level: error }",
      "",
    ].join("\n"),
  );
  const child = spawn(REGISTRY, ["serve", config], { stdio: "ignore" });
  for (let i = 0; i < 100; i++) {
    // Any answer will do (401 with auth): it listens.
    if (await answers(port, tls !== undefined)) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error("the registry did not start");
}

async function answers(port: number, tls: boolean): Promise<boolean> {
  if (!tls) {
    return fetch(`http://127.0.0.1:${port}/v2/`).then(
      () => true,
      () => false,
    );
  }
  return new Promise((done) => {
    const req = request({ host: "127.0.0.1", port, path: "/v2/", rejectUnauthorized: false });
    req.on("response", (res) => {
      res.resume();
      done(true);
    });
    req.on("error", () => done(false));
    req.end();
  });
}

/**
 * The tags of `repo` in the plain-http registry at `port`, each with whether every blob its
 * manifest names is there and is its digest (what a client that trusts the tag gets).
 */
export async function registryTags(
  port: number,
  repo: string,
): Promise<{ tag: string; whole: boolean }[]> {
  const base = `http://127.0.0.1:${port}/v2/${repo}`;
  const list = await fetch(`${base}/tags/list`);
  if (list.status === 404) return [];
  const tags: { tag: string; whole: boolean }[] = [];
  for (const tag of ((await list.json()) as { tags: string[] | null }).tags ?? []) {
    const accept = { accept: "application/vnd.oci.image.manifest.v1+json" };
    const manifest = (await (
      await fetch(`${base}/manifests/${tag}`, { headers: accept })
    ).json()) as {
      config: { digest: string };
      layers: { digest: string }[];
    };
    let whole = true;
    for (const { digest } of [manifest.config, ...manifest.layers]) {
      const blob = await fetch(`${base}/blobs/${digest}`);
      const data = Buffer.from(await blob.arrayBuffer());
      const sha = `sha256:${createHash("sha256").update(data).digest("hex")}`;
      if (!blob.ok || sha !== digest) whole = false;
    }
    tags.push({ tag, whole });
  }
  return tags;
}
