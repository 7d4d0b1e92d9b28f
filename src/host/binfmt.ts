/**
 * Foreign-architecture builds: an arm64 or armhf root runs on an amd64 host through
 * qemu-user-static and binfmt_misc. strata mounts binfmt_misc and registers the interpreter
 * only when it is missing, says so, and undoes it when the last build that uses it ends.
 * The registration line comes from the qemu-user-static package itself (/usr/lib/binfmt.d).
 *
 * binfmt_misc is host-wide, while strata builds are not: two builds (on two caches, in two
 * strata processes) may use one registration. So what strata made (the mount, each
 * registration) is shared, with its users recorded in a state file under /run/strata/binfmt/
 * (PID and start time of each strata process, changed under a lock): a build joins as a user,
 * leaves when it ends, and the last one leaving undoes what strata made. A user that is gone
 * (a SIGKILLed build) is dropped by the next build that looks, which then finds the
 * registration working and, when it is the last user, removes it. What strata did not make
 * (the host's own registration or mount) is never undone. /run is a tmpfs, so the state goes
 * at reboot, as the registrations do.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { acquireLock, holderAlive, processId } from "../cache/lock.js";
import { StrataError } from "../errors.js";
import type { Cleanups } from "./cleanups.js";
import { run } from "./run.js";

/** Where binfmt_misc, strata's state about it and the registration lines are: tests use temporary ones. */
export interface BinfmtPaths {
  /** The binfmt_misc filesystem (its `register` file and one file per registration). */
  binfmt: string;
  /** strata's shared state: which processes use what it made, and its lock. */
  state: string;
  /** The registration lines (qemu-user-static's /usr/lib/binfmt.d). */
  conf: string;
}

export const BINFMT_PATHS: BinfmtPaths = {
  binfmt: "/proc/sys/fs/binfmt_misc",
  state:
    process.getuid?.() === 0 || !process.env.XDG_RUNTIME_DIR
      ? "/run/strata/binfmt"
      : join(process.env.XDG_RUNTIME_DIR, "strata", "binfmt"),
  conf: "/usr/lib/binfmt.d",
};

/** Debian architecture → QEMU's name for it. */
export const QEMU_ARCH: Record<string, string> = {
  amd64: "x86_64",
  arm64: "aarch64",
  armhf: "arm",
  i386: "i386",
};

export function hostArch(): string {
  const map: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "armhf", ia32: "i386" };
  return map[process.arch] ?? process.arch;
}

export function isForeign(arch: string): boolean {
  if (arch === hostArch()) return false;
  // An arm64 CPU usually runs armhf code itself, as an amd64 CPU runs i386.
  return (
    !(hostArch() === "arm64" && arch === "armhf") && !(hostArch() === "amd64" && arch === "i386")
  );
}

/** Something strata made (the mount, a registration), and the processes that use it. */
interface Shared {
  users: string[];
}

/** The state file: by resource ("mount", "qemu-aarch64"), only what strata made and still holds. */
type State = Record<string, Shared>;

function readState(paths: BinfmtPaths): State {
  try {
    return JSON.parse(readFileSync(join(paths.state, "state.json"), "utf8")) as State;
  } catch {
    return {};
  }
}

function writeState(paths: BinfmtPaths, state: State): void {
  const file = join(paths.state, "state.json");
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

/** Runs `fn` on the state (live users only) under the lock, and writes it back however `fn` ends. */
async function withState<T>(
  paths: BinfmtPaths,
  log: (m: string) => void,
  fn: (state: State) => Promise<T>,
): Promise<T> {
  mkdirSync(paths.state, { recursive: true, mode: 0o700 });
  const lock = await acquireLock(join(paths.state, "lock"), (pid) =>
    log(`waiting for the binfmt_misc state lock held by strata process ${pid}`),
  );
  try {
    const state = readState(paths);
    for (const shared of Object.values(state)) shared.users = shared.users.filter(holderAlive);
    try {
      return await fn(state);
    } finally {
      writeState(paths, state);
    }
  } finally {
    lock.release();
  }
}

/** The registration line for `qemu` from its package, with the F flag (see below). */
function registrationLine(paths: BinfmtPaths, arch: string, qemu: string): string {
  const conf = join(paths.conf, `qemu-${qemu}.conf`);
  if (!existsSync(conf)) {
    throw new StrataError(
      "E_TOOL_MISSING",
      `building for ${arch} needs qemu-user-static (${conf})`,
      {
        hint: "apt-get install qemu-user-static",
      },
    );
  }
  const line = readFileSync(conf, "utf8")
    .split("\n")
    .find((l) => l.startsWith(":"));
  if (!line) throw new StrataError("E_BINFMT", `${conf} holds no registration line`);
  // F: the interpreter is opened now, so it works inside the build root too.
  return line.replace(
    /:([A-Z]*)$/,
    (_m, flags: string) => `:${flags.includes("F") ? flags : `${flags}F`}`,
  );
}

/**
 * Makes sure `arch` binaries run: joins strata's mount and registration (making them if they
 * are missing) as a user; the returned function leaves, and the last user undoes them.
 * `user` is the process that uses them (default: this one).
 */
export async function useBinfmt(
  arch: string,
  log: (m: string) => void,
  paths: BinfmtPaths = BINFMT_PATHS,
  user: string = processId(),
): Promise<() => Promise<void>> {
  const qemu = QEMU_ARCH[arch];
  if (!qemu) throw new StrataError("E_BINFMT", `no emulator known for ${arch}`);
  const name = `qemu-${qemu}`;
  const entry = join(paths.binfmt, name);
  const held: string[] = [];
  let left = false;
  const leave = async () => {
    if (left || held.length === 0) return;
    left = true;
    await withState(paths, log, async (state) => {
      // The registration before the mount it lives in.
      for (const resource of [...held].reverse()) {
        const shared = state[resource];
        if (!shared) continue;
        shared.users = shared.users.filter((u) => u !== user);
        if (shared.users.length > 0) continue;
        delete state[resource];
        if (resource === "mount") await run("umount", [paths.binfmt], { reject: false });
        else if (existsSync(join(paths.binfmt, resource)))
          writeFileSync(join(paths.binfmt, resource), "-1");
      }
    });
  };
  const joined = withState(paths, log, async (state) => {
    const use = (resource: string) => {
      const shared = (state[resource] ??= { users: [] });
      if (!shared.users.includes(user)) shared.users.push(user);
      held.push(resource);
    };
    if (!existsSync(join(paths.binfmt, "register"))) {
      await run("mount", ["-t", "binfmt_misc", "binfmt_misc", paths.binfmt]);
      log(`mounted binfmt_misc at ${paths.binfmt}`);
      use("mount");
    } else if (state.mount) use("mount");
    if (existsSync(entry)) {
      if (!readFileSync(entry, "utf8").startsWith("enabled")) {
        throw new StrataError("E_BINFMT", `binfmt_misc entry ${name} is disabled`, {
          hint: `echo 1 > ${entry}`,
        });
      }
      // Made by strata (for a build that may be gone): shared; else the host's, left alone.
      if (state[name]) use(name);
      return;
    }
    writeFileSync(join(paths.binfmt, "register"), registrationLine(paths, arch, qemu));
    log(`registered ${name} with binfmt_misc to run ${arch} binaries`);
    // Users it still lists (had someone removed it) keep using the new one.
    use(name);
  });
  try {
    await joined;
  } catch (e) {
    await leave();
    throw e;
  }
  return leave;
}

/** Makes sure `arch` binaries run for this build; stacks leaving (see useBinfmt) on `cleanups`. */
export async function ensureBinfmt(
  arch: string,
  cleanups: Cleanups,
  log: (m: string) => void,
  paths: BinfmtPaths = BINFMT_PATHS,
): Promise<void> {
  if (!isForeign(arch)) return;
  const leave = await useBinfmt(arch, log, paths);
  cleanups.push(`stop using binfmt_misc for ${arch}`, leave);
}
