/**
 * The mirror proxy, for real on loopback: a "mirror" and an "intruder" HTTP server, the proxy on
 * a Unix socket, and requests sent the way apt sends them through a proxy.
 */
import assert from "node:assert/strict";
import { createServer as createHttpServer, request, type Server } from "node:http";
import { connect, createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  allowsTunnel,
  allowsUrl,
  type MirrorProxy,
  startMirrorProxy,
} from "../../src/host/mirror-proxy.js";
import { tempDir } from "../helpers.js";

describe("which requests the mirror proxy lets out", () => {
  const rules = { mirrors: ["http://m.example/debian", "https://s.example/debian-security/"] };
  it("allows GETs below a plain http mirror's URL only", () => {
    assert.ok(allowsUrl(rules, "http://m.example/debian/dists/trixie/InRelease"));
    assert.ok(!allowsUrl(rules, "http://m.example/debian-evil/x"));
    assert.ok(!allowsUrl(rules, "http://m.example/other/x"));
    assert.ok(!allowsUrl(rules, "http://m.example/debian/../etc/passwd"));
    assert.ok(!allowsUrl(rules, "http://m.example.evil/debian/x"));
    assert.ok(!allowsUrl(rules, "http://user:pw@m.example/debian/x"));
    assert.ok(!allowsUrl(rules, "http://169.254.169.254/latest/meta-data"));
    assert.ok(!allowsUrl(rules, "not a url"));
  });
  it("tunnels only to an https mirror's host and port", () => {
    assert.ok(allowsTunnel(rules, "s.example:443"));
    assert.ok(!allowsTunnel(rules, "s.example:22"));
    assert.ok(!allowsTunnel(rules, "m.example:443"));
  });
});

/** One request through the proxy's socket, as apt makes it: the absolute URL as the path. */
function viaProxy(socket: string, url: string, method = "GET") {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ socketPath: socket, path: url, method }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the mirror proxy on loopback", () => {
  let mirror: Server;
  let intruder: Server;
  let echo: ReturnType<typeof createServer>;
  let proxy: MirrorProxy;
  let base = "";
  let echoPort = 0;
  const seen: string[] = [];

  before(async () => {
    mirror = createHttpServer((req, res) => {
      seen.push(req.url ?? "");
      res.end(`mirror says ${req.url}`);
    });
    intruder = createHttpServer((_req, res) => res.end("secret"));
    echo = createServer((s) => s.pipe(s));
    await Promise.all(
      [mirror, intruder, echo].map(
        (s) => new Promise<void>((resolve) => s.listen(0, "127.0.0.1", () => resolve())),
      ),
    );
    base = `http://127.0.0.1:${(mirror.address() as AddressInfo).port}`;
    echoPort = (echo.address() as AddressInfo).port;
    proxy = await startMirrorProxy(
      { mirrors: [`${base}/debian`, `https://127.0.0.1:${echoPort}/debian-security`] },
      join(tempDir(), "proxy.sock"),
    );
  });
  after(async () => {
    await proxy.close();
    for (const s of [mirror, intruder, echo]) s.close();
  });

  it("forwards the mirror's files", async () => {
    const r = await viaProxy(proxy.socket, `${base}/debian/dists/trixie/InRelease`);
    assert.deepEqual(r, { status: 200, body: "mirror says /debian/dists/trixie/InRelease" });
  });

  it("refuses other paths, other hosts and other methods, and remembers them", async () => {
    const other = `http://127.0.0.1:${(intruder.address() as AddressInfo).port}`;
    for (const [url, method] of [
      [`${other}/debian/x`, "GET"],
      [`${base}/private`, "GET"],
      [`${base}/debian/x`, "POST"],
    ] as const) {
      const r = await viaProxy(proxy.socket, url, method);
      assert.equal(r.status, 403, url);
      assert.match(r.body, /only the configured mirrors/);
    }
    assert.ok(!seen.includes("/private"));
    assert.ok(proxy.refused.size >= 2);
  });

  it("tunnels to an https mirror's port and nowhere else", async () => {
    const tunnel = (authority: string) =>
      new Promise<string>((resolve, reject) => {
        const s = connect(proxy.socket, () =>
          s.write(`CONNECT ${authority} HTTP/1.1\r\nhost: ${authority}\r\n\r\n`),
        );
        let got = "";
        s.on("data", (d: Buffer) => {
          got += d.toString();
          if (got.includes("200 Connection Established\r\n\r\n") && !got.includes("ping"))
            s.write("ping");
          if (got.includes("ping") || got.includes("403")) {
            s.end();
            resolve(got);
          }
        });
        s.on("error", reject);
      });
    assert.match(await tunnel(`127.0.0.1:${echoPort}`), /200 Connection Established[\s\S]*ping/);
    assert.match(
      await tunnel(`127.0.0.1:${(intruder.address() as AddressInfo).port}`),
      /403 Forbidden/,
    );
  });
});
