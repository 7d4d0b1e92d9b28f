/**
 * Run as its own process inside a build's network namespace (`node proxy-bridge.js SOCKET
 * PORT`): listens on 127.0.0.1:PORT there and passes every connection to the mirror proxy's
 * Unix socket, which lives in the host's network namespace (see host/mirror-proxy.ts). A Unix
 * socket is reached through the filesystem, so it is the one door between the two namespaces.
 * Prints "ready" once it listens; ends when its stdin closes (strata is gone).
 */
import { connect, createServer } from "node:net";

const [socket, port] = process.argv.slice(2);
if (!socket || !port) {
  process.stderr.write("usage: proxy-bridge SOCKET PORT\n");
  process.exit(2);
}

const server = createServer((client) => {
  const upstream = connect(socket);
  const drop = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on("error", drop);
  upstream.on("error", drop);
  client.pipe(upstream);
  upstream.pipe(client);
});
server.listen(Number(port), "127.0.0.1", () => process.stdout.write("ready\n"));
process.stdin.on("close", () => process.exit(0));
process.stdin.resume();
