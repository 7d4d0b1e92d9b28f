/**
 * `strata serve DIR`: a small static HTTP server for update repositories and build outputs.
 * GET and HEAD of regular files under DIR, with single Range requests (resumed downloads) and
 * If-Range; never a directory listing, never a file outside DIR (a path that climbs out or a
 * symlink that leads out is 404, and so are dotfiles: a publish's temporaries and its lock). With `log`, one JSON line per request: method, path, status,
 * the body bytes really sent (an aborted transfer logs what went out) and the Range asked for,
 * so tests and benchmarks measure what a device fetched.
 */
import { appendFileSync, createReadStream, realpathSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { join, sep } from "node:path";

export interface ServeOptions {
  dir: string;
  /** 0: any free port */
  port?: number;
  bind?: string;
  log?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
  stats(): { requests: number; bytes: number };
}

/** A Range header against a file of `size` bytes: the byte span, "unsatisfiable", or none. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | "unsatisfiable" | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined; // several ranges or junk: whole file
  let start: number;
  let end: number;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0) return "unsatisfiable";
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return "unsatisfiable";
  return { start, end };
}

/** The file under `root` that `urlPath` names, or undefined (outside, missing, not a file). */
function resolveFile(root: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath.split("?")[0] ?? "");
  } catch {
    return undefined;
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return undefined;
  const parts = decoded.split("/").filter((p) => p !== "");
  if (parts.some((p) => p.startsWith("."))) return undefined;
  try {
    const real = realpathSync(join(root, ...parts));
    if (!real.startsWith(root + sep) || !statSync(real).isFile()) return undefined;
    return real;
  } catch {
    return undefined;
  }
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const root = realpathSync(options.dir);
  const bind = options.bind ?? "127.0.0.1";
  const sockets = new Set<Socket>();
  let requests = 0;
  let sent = 0;

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    requests++;
    let body = 0;
    const path = (req.url ?? "/").split("?")[0] as string;
    const write = res.write.bind(res);
    res.write = ((chunk: Buffer | string, ...rest: never[]) => {
      body += Buffer.byteLength(chunk);
      return write(chunk, ...rest);
    }) as typeof res.write;
    // A body given to end() (an error's text) is sent too.
    const endResponse = res.end.bind(res);
    res.end = ((chunk?: unknown, ...rest: never[]) => {
      if (typeof chunk === "string" || Buffer.isBuffer(chunk)) body += Buffer.byteLength(chunk);
      return endResponse(chunk as never, ...rest);
    }) as typeof res.end;
    let logged = false;
    const log = () => {
      if (logged) return;
      logged = true;
      sent += body;
      if (!options.log) return;
      const line = {
        time: new Date().toISOString(),
        method: req.method,
        path,
        status: res.statusCode,
        // Bytes written but never flushed to a closed socket are not counted as sent.
        bytes: Math.max(0, body - (res.writableLength ?? 0)),
        range: req.headers.range ?? null,
      };
      appendFileSync(options.log, `${JSON.stringify(line)}\n`);
    };
    res.on("finish", log);
    res.on("close", log);

    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD" }).end();
      return;
    }
    const file = resolveFile(root, path);
    if (!file) {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
      return;
    }
    const st = statSync(file);
    const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    const lastModified = st.mtime.toUTCString();
    const headers: Record<string, string | number> = {
      "Accept-Ranges": "bytes",
      "Last-Modified": lastModified,
      ETag: etag,
      "Content-Type": file.endsWith(".json") ? "application/json" : "application/octet-stream",
    };
    const ifRange = req.headers["if-range"] as string | undefined;
    const rangeApplies =
      ifRange === undefined ||
      ifRange === etag ||
      (!ifRange.startsWith('"') && Date.parse(ifRange) >= Math.floor(st.mtimeMs / 1000) * 1000);
    const range = rangeApplies ? parseRange(req.headers.range, st.size) : undefined;
    if (range === "unsatisfiable") {
      res.writeHead(416, { ...headers, "Content-Range": `bytes */${st.size}` }).end();
      return;
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? st.size - 1;
    if (range) headers["Content-Range"] = `bytes ${start}-${end}/${st.size}`;
    headers["Content-Length"] = st.size === 0 ? 0 : end - start + 1;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === "HEAD" || st.size === 0) {
      res.end();
      return;
    }
    const stream = createReadStream(file, { start, end });
    stream.on("error", () => res.destroy());
    res.on("close", () => stream.destroy());
    stream.pipe(res);
  };

  // The log exists from the start: a reader before the first request finds it empty.
  if (options.log) appendFileSync(options.log, "");
  const server = createServer(handle);
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, bind, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://${bind.includes(":") ? `[${bind}]` : bind}:${port}`,
    port,
    stats: () => ({ requests, bytes: sent }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
