/**
 * A plain-http proxy on 127.0.0.1 in front of a test registry, for what a real network does to
 * a client now and then: a blob that arrives changed (`corrupt`), an upload cut off (the test
 * stops the registry from `onUpload`); and for what went over the wire (`onAnswer`, the bench). It passes the Host header on, so the registry's upload
 * locations point back at the proxy.
 */
import { type IncomingMessage, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

export interface ProxyHooks {
  /** True for a response whose body is to arrive changed (one byte flipped) */
  corrupt?: (req: IncomingMessage) => boolean;
  /** Called as an upload's body goes through, with the bytes sent so far in that request */
  onUpload?: (req: IncomingMessage, bytes: number) => void;
  /** Called for each piece of a response's body with its bytes (what the client pulled) */
  onAnswer?: (req: IncomingMessage, bytes: number) => void;
}

export interface RegistryProxy {
  port: number;
  /** "METHOD path status" of every request answered, in order */
  log: string[];
  close(): Promise<void>;
}

export async function startProxy(target: number, hooks: ProxyHooks = {}): Promise<RegistryProxy> {
  const log: string[] = [];
  const server = createServer((req, res) => {
    const upstream = request(
      { host: "127.0.0.1", port: target, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        log.push(`${req.method} ${req.url} ${answer.statusCode}`);
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        let flip = answer.statusCode === 200 && hooks.corrupt?.(req) === true;
        answer.on("data", (chunk: Buffer) => {
          if (flip && chunk.length > 0) {
            const at = chunk.length >> 1;
            chunk.writeUInt8(chunk.readUInt8(at) ^ 0xff, at);
            flip = false;
          }
          hooks.onAnswer?.(req, chunk.length);
          res.write(chunk);
        });
        answer.on("end", () => res.end());
        answer.on("error", () => res.destroy());
      },
    );
    // The registry gone: the client sees its connection cut, as it would.
    upstream.on("error", () => {
      log.push(`${req.method} ${req.url} cut`);
      res.destroy();
    });
    let bytes = 0;
    req.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      hooks.onUpload?.(req, bytes);
      upstream.write(chunk);
    });
    req.on("end", () => upstream.end());
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return {
    port: (server.address() as AddressInfo).port,
    log,
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
