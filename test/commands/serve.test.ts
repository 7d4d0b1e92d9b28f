/** `strata serve`: the command serves a directory with Range requests and logs each request. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, it } from "node:test";
import { CLI, cli, tempDir } from "../helpers.js";

const dir = tempDir("strata-serve-");
after(() => rmSync(dir, { recursive: true, force: true }));

it("serves files with Range requests, never a listing, a dotfile or a file outside, and logs each", async () => {
  const root = join(dir, "repo");
  mkdirSync(join(root, "layers"), { recursive: true });
  writeFileSync(join(root, "layers/a.sqfs"), "0123456789");
  writeFileSync(join(dir, "secret"), "outside");
  const log = join(dir, "requests.jsonl");
  const child = spawn(
    process.execPath,
    [CLI, "serve", root, "--port", "0", "--log", log, "--json"],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  try {
    const url = await new Promise<string>((done, fail) => {
      let out = "";
      child.stdout.on("data", (b: Buffer) => {
        out += b.toString();
        const m = /"url": "([^"]+)"/.exec(out);
        if (m) done(m[1] as string);
      });
      child.on("exit", (code) => fail(new Error(`strata serve exited ${code}`)));
    });
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const part = await fetch(`${url}/layers/a.sqfs`, { headers: { Range: "bytes=4-" } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get("content-range"), "bytes 4-9/10");
    assert.equal(await part.text(), "456789");
    assert.equal((await fetch(`${url}/layers/`)).status, 404, "no listing");
    assert.equal((await fetch(`${url}/..%2fsecret`)).status, 404, "nothing outside");
    // The server logs a request when its response is done, which may follow the client's read.
    const read = () => readFileSync(log, "utf8").split("\n").filter(Boolean);
    for (let i = 0; i < 50 && read().length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    const lines = read().map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => [l.path, l.status, l.bytes]),
      [
        ["/layers/a.sqfs", 206, 6],
        ["/layers/", 404, 10],
        ["/..%2fsecret", 404, 10],
      ],
    );
    // A publish's lock and temporaries are dotfiles: never served.
    writeFileSync(join(root, ".lock"), "1234 5678");
    writeFileSync(join(root, "layers/.b.sqfs.tmp-99"), "partial");
    assert.equal((await fetch(`${url}/.lock`)).status, 404);
    assert.equal((await fetch(`${url}/layers/.b.sqfs.tmp-99`)).status, 404);
  } finally {
    child.kill("SIGTERM");
  }
});

it("refuses what is not a directory, naming it", () => {
  const r = cli(["serve", join(dir, "missing")]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /error\[E_USAGE\]: .*missing is not a directory/);
});
