/**
 * QEMU's human monitor on a Unix socket (`VmConfig.monitor`): one command per connection.
 * The command is typed after the monitor's first prompt, and the connection is closed at the
 * next one, by which time the command has run.
 */
import { createConnection } from "node:net";

const PROMPT = "(qemu)";
const ANSWER_MS = 10_000;

export function monitorCommand(socket: string, command: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = createConnection(socket);
    let answer = "";
    let done = false;
    c.setTimeout(ANSWER_MS, () => c.destroy(new Error("QEMU's monitor did not answer")));
    c.on("error", reject);
    c.on("close", () => (done ? resolve() : reject(new Error("QEMU's monitor closed early"))));
    c.on("data", (chunk: Buffer) => {
      const before = answer.split(PROMPT).length - 1;
      answer += chunk.toString("utf8");
      const prompts = answer.split(PROMPT).length - 1;
      if (before === 0 && prompts >= 1) c.write(`${command}\n`);
      if (prompts >= 2 && !done) {
        done = true;
        c.end();
      }
    });
  });
}
