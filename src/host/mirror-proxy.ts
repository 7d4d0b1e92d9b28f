/**
 * The only way out of a build's network namespace: an HTTP proxy in strata's own process that
 * forwards requests for the configured mirrors and refuses everything else.
 *
 * Why a proxy and not the host's network: a package step runs apt and every maintainer script
 * of what it installs, and the bootstrap runs mmdebstrap's; none of them should reach the
 * build host's loopback services, the local network or the cloud's metadata service, and a
 * proxy that knows the mirror URLs is the one place that can say yes to apt and no to the rest
 * without firewall rules on the host. The build namespace has only a loopback interface; a
 * bridge process inside it (host/proxy-bridge.ts) listens on 127.0.0.1 there and passes each
 * connection to this proxy's Unix socket, which the host's network namespace serves.
 *
 * Plain http mirrors are forwarded request by request (GET and HEAD of URLs below a mirror's
 * URL); https mirrors are tunnelled (CONNECT) to the mirror's host and port only. When the
 * host's apt itself goes through a proxy (Acquire::http::Proxy, http_proxy), so does this one.
 */
import { createServer, type IncomingMessage, request, type ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";

export interface ProxyRules {
  /** Mirror URLs; a request must be for a URL below one of them. */
  mirrors: readonly string[];
  /** An upstream HTTP proxy for plain http requests (the host's apt proxy), if any. */
  upstream?: string;
}

export interface MirrorProxy {
  readonly socket: string;
  /** Hosts refused so far (for the build's log). */
  readonly refused: ReadonlySet<string>;
  close(): Promise<void>;
}

/** The mirror prefixes, normalised: `http://host/debian` → `http://host/debian/`. */
function prefixes(mirrors: readonly string[]): URL[] {
  return mirrors.map((m) => new URL(m.endsWith("/") ? m : `${m}/`));
}

/** Whether a request for `target` (an absolute URL) may go out. */
export function allowsUrl(rules: ProxyRules, target: string): boolean {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return false;
  }
  if (url.protocol !== "http:" || url.username || url.password) return false;
  return prefixes(rules.mirrors).some(
    (p) => p.protocol === "http:" && p.host === url.host && url.pathname.startsWith(p.pathname),
  );
}

/** Whether a CONNECT tunnel to `authority` (host:port) may be opened. */
export function allowsTunnel(rules: ProxyRules, authority: string): boolean {
  return prefixes(rules.mirrors).some(
    (p) => p.protocol === "https:" && `${p.hostname}:${p.port || "443"}` === authority,
  );
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

function forwardHeaders(headers: IncomingMessage["headers"]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers))
    if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

function refuse(res: ServerResponse, why: string): void {
  res.writeHead(403, { "content-type": "text/plain", connection: "close" });
  res.end(`strata: ${why}\n`);
}

/** Serves the proxy on a Unix socket at `socket` until closed. */
export async function startMirrorProxy(rules: ProxyRules, socket: string): Promise<MirrorProxy> {
  const refused = new Set<string>();
  const upstream = rules.upstream ? new URL(rules.upstream) : undefined;
  const open = new Set<Socket>();

  const server = createServer((req, res) => {
    const target = req.url ?? "";
    if (!["GET", "HEAD"].includes(req.method ?? "") || !allowsUrl(rules, target)) {
      refused.add(URL.canParse(target) ? new URL(target).host : target.slice(0, 80));
      refuse(res, `the build's network reaches only the configured mirrors, not ${target}`);
      return;
    }
    const url = new URL(target);
    const out = request(
      {
        ...(upstream
          ? { host: upstream.hostname, port: upstream.port || 80, path: url.href }
          : { host: url.hostname, port: url.port || 80, path: `${url.pathname}${url.search}` }),
        method: req.method,
        headers: { ...forwardHeaders(req.headers), host: url.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, forwardHeaders(answer.headers));
        answer.pipe(res);
      },
    );
    out.on("error", (e) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`strata: ${url.host}: ${e.message}\n`);
    });
    req.pipe(out);
  });

  server.on("connect", (req: IncomingMessage, client: Socket, head: Buffer) => {
    const authority = req.url ?? "";
    if (!allowsTunnel(rules, authority)) {
      refused.add(authority);
      client.end("HTTP/1.1 403 Forbidden\r\nconnection: close\r\n\r\n");
      return;
    }
    const [host, port] = [authority.replace(/:\d+$/, ""), Number(authority.split(":").pop())];
    const remote = connect(port, host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) remote.write(head);
      remote.pipe(client);
      client.pipe(remote);
    });
    const drop = () => {
      remote.destroy();
      client.destroy();
    };
    remote.on("error", drop);
    client.on("error", drop);
  });
  server.on("connection", (s: Socket) => {
    open.add(s);
    s.on("close", () => open.delete(s));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socket, () => resolve());
  });

  return {
    socket,
    refused,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
