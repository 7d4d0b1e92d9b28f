/**
 * Opens the HTML report in Debian's real headless chromium and checks, on the DOM after the
 * page's script ran, that the timeline and the layer table rendered and that no hostile string
 * executed. As root (CI, setup.sh installs chromium) a missing chromium fails the test; only a
 * non-root run may skip it. Chromium runs in its own process group with its HOME in a fresh
 * profile, bounded by a timeout; afterwards each of its processes still alive is killed by PID,
 * so no browser process outlives the test.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { accessSync, constants, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, test } from "node:test";
import { renderReportHtml } from "../../src/report/html.js";
import { isRoot, tempDir } from "../helpers.js";
import { fakeReport, HOSTILE_LABEL } from "./fixture.js";

const TIMEOUT_MS = 90_000;

/** The browser: $STRATA_CHROMIUM if set (only that), else chromium on PATH or in /usr/bin. */
function findChromium(): string | undefined {
  const forced = process.env.STRATA_CHROMIUM;
  const candidates = forced
    ? [forced]
    : (process.env.PATH ?? "")
        .split(delimiter)
        .concat(["/usr/bin"])
        .flatMap((d) => [join(d, "chromium"), join(d, "chromium-browser")]);
  return candidates.find((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const chromium = findChromium();
const skip = chromium || isRoot ? false : "chromium is not installed (apt-get install chromium)";
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/**
 * Live (not zombie) processes of this run: chromium's process group, plus the crash handlers
 * it starts in sessions of their own, found by the profile path in their command line (HOME
 * points into the profile, so their crash database does too).
 */
function leftovers(pgid: number, profile: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (state === "Z") continue;
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (Number(pgrp) === pgid || cmd.includes(profile)) pids.push(pid);
    } catch {}
  }
  return pids;
}

/** Kills this run's chromium processes by PID, after a grace period for them to exit. */
async function reap(pgid: number, profile: string): Promise<void> {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  for (let i = 0; i < 30 && leftovers(pgid, profile).length > 0; i++) await sleep(100);
  for (let i = 0; i < 30; i++) {
    const pids = leftovers(pgid, profile);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    await sleep(100);
  }
  assert.deepEqual(leftovers(pgid, profile), [], "chromium processes left behind");
}

/** Runs chromium headless on `args`; returns stdout. Kills its process group when done. */
async function headless(args: string[]): Promise<string> {
  assert.ok(chromium, "chromium is missing: apt-get install -y --no-install-recommends chromium");
  const profile = tempDir("strata-chromium-");
  dirs.push(profile);
  const child = spawn(
    chromium,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
      `--user-data-dir=${profile}`,
      ...args,
    ],
    {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, HOME: profile, XDG_CONFIG_HOME: join(profile, "config") },
    },
  );
  const pgid = child.pid!;
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  let timer: NodeJS.Timeout | undefined;
  try {
    const code = await new Promise<number | null>((res, rej) => {
      timer = setTimeout(
        () => rej(new Error(`chromium timed out after ${TIMEOUT_MS} ms`)),
        TIMEOUT_MS,
      );
      child.on("error", rej);
      child.on("close", (c) => res(c));
    });
    assert.equal(code, 0, `chromium failed:\n${stderr.slice(-4000)}`);
    return stdout;
  } finally {
    clearTimeout(timer);
    await reap(pgid, profile);
  }
}

function writePage(): string {
  const dir = tempDir("strata-report-html-");
  dirs.push(dir);
  const file = join(dir, "report.html");
  writeFileSync(file, renderReportHtml(fakeReport()));
  return file;
}

function count(dom: string, re: RegExp): number {
  return dom.match(re)?.length ?? 0;
}

test(
  "chromium renders the timeline and the layer table; hostile strings stay text",
  { skip },
  async () => {
    const r = fakeReport();
    const page = writePage();
    const dom = await headless(["--window-size=1280,2000", "--dump-dom", pathToFileURL(page).href]);
    const body = /<body([^>]*)>/.exec(dom)?.[1] ?? "";
    assert.match(body, /data-rendered="1"/, "the page script ran (CSP hash accepted)");
    assert.match(body, new RegExp(`data-bars="${r.layers.length + r.outputs.length}"`));
    assert.ok(!/data-pwned/.test(body), "a hostile string executed");
    assert.equal(count(dom, /<img/g), 0, "a hostile string became an element");
    // The serializer leaves quotes in text unescaped, so compare with < and > escaped only.
    const asText = HOSTILE_LABEL.replace(/</g, "&lt;").replace(/>/g, "&gt;");
    assert.equal(dom.split(asText).length - 1, 2, "the hostile label shows as text (title, steps)");
    const timeline = /<svg class="chart timeline"[\s\S]*?<\/svg>/.exec(dom)?.[0] ?? "";
    assert.equal(count(timeline, /<rect class="bar layer /g), r.layers.length);
    assert.equal(count(timeline, /<rect class="bar output"/g), r.outputs.length);
    assert.equal(count(dom, /<tr class="layer /g), r.layers.length);
    const width = Number(/data-timeline-width="(\d+)"/.exec(body)?.[1]);
    assert.ok(width > 500, `timeline laid out ${width}px wide`);
  },
);

test("on a terminal-width window the timeline fits the page", { skip }, async () => {
  const page = writePage();
  const dom = await headless(["--window-size=640,900", "--dump-dom", pathToFileURL(page).href]);
  const width = Number(/data-timeline-width="(\d+)"/.exec(dom)?.[1]);
  assert.ok(width > 300 && width <= 640, `timeline ${width}px in a 640px window`);
});

test("chromium takes a screenshot of the report", { skip }, async () => {
  const page = writePage();
  const shot = join(tempDir("strata-report-shot-"), "report.png");
  dirs.push(join(shot, ".."));
  await headless([
    "--window-size=1000,1400",
    "--hide-scrollbars",
    `--screenshot=${shot}`,
    pathToFileURL(page).href,
  ]);
  const png = readFileSync(shot);
  assert.deepEqual([...png.subarray(1, 4)], [...Buffer.from("PNG")]);
  assert.ok(png.length > 10_000, `screenshot is ${png.length} bytes`);
  if (process.env.STRATA_REPORT_SCREENSHOT)
    writeFileSync(process.env.STRATA_REPORT_SCREENSHOT, png);
});
