/**
 * Update signing keys: OpenPGP Ed25519, made and used with the host's gpg in a throw-away
 * GNUPGHOME, so strata never touches the user's own keyrings.
 *
 *   KEY.key   the secret key (binary OpenPGP, mode 0600): it signs channels and manifests
 *   KEY.pub   the public keyring the recipe names (`update.keyring`); the image carries it,
 *             and the device checks signatures with sqv (Debian 13's apt verifier) or gpgv.
 *             Two certificates concatenated in one keyring allow a key rotation.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { StrataError } from "../errors.js";
import { run } from "../host/run.js";
import { requireTools } from "../host/tools.js";

async function withGnupgHome<T>(fn: (env: Record<string, string>) => Promise<T>): Promise<T> {
  requireTools(["gpg", "gpgAgent", "gpgv"]);
  const home = mkdtempSync(join(tmpdir(), "strata-gpg-"));
  chmodSync(home, 0o700);
  const env = { GNUPGHOME: home, LC_ALL: "C" };
  try {
    return await fn(env);
  } finally {
    // gpg-agent may hold the directory's socket; ask it to go before removing.
    await run("gpgconf", ["--kill", "all"], { env, reject: false }).catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
  }
}

export interface GeneratedKey {
  secret: string;
  public: string;
  fingerprint: string;
}

/** Writes `<out>.key` and `<out>.pub`; refuses to overwrite either unless `force`. */
export async function generateKey(out: string, name: string, force = false): Promise<GeneratedKey> {
  const secret = `${out}.key`;
  const pub = `${out}.pub`;
  for (const f of [secret, pub]) {
    if (existsSync(f) && !force) {
      throw new StrataError("E_KEY", `${f} exists; strata does not overwrite a key`, {
        hint: "choose another --out, or pass --force to replace it",
      });
    }
  }
  return withGnupgHome(async (env) => {
    const uid = `strata update key (${name})`;
    await run(
      "gpg",
      ["--batch", "--pinentry-mode", "loopback", "--passphrase", ""].concat([
        "--quick-generate-key",
        uid,
        "ed25519",
        "sign",
        "never",
      ]),
      { env },
    );
    const { stdout } = await run("gpg", ["--batch", "--with-colons", "--list-secret-keys"], {
      env,
    });
    const fingerprint = /^fpr:(?:[^:]*:){8}([0-9A-F]{40}):/m.exec(stdout)?.[1] ?? "";
    const secretKey = await exportKey(env, ["--export-secret-keys", fingerprint]);
    mkdirSync(dirname(secret), { recursive: true });
    writeFileSync(secret, secretKey, { mode: 0o600 });
    chmodSync(secret, 0o600);
    writeFileSync(pub, await exportKey(env, ["--export", fingerprint]), { mode: 0o644 });
    return { secret, public: pub, fingerprint };
  });
}

async function exportKey(env: Record<string, string>, args: string[]): Promise<Buffer> {
  const tmp = join(env.GNUPGHOME as string, "export");
  await run("gpg", ["--batch", "--yes", "--output", tmp, ...args], { env });
  const data = readFileSync(tmp);
  if (data.length === 0) throw new StrataError("E_KEY", `gpg exported nothing (${args[0]})`);
  return data;
}

/** A signer holding the secret key imported once; `sign(file)` writes `file.sig`. */
export async function withSigner<T>(
  keyFile: string,
  fn: (sign: (file: string) => Promise<void>) => Promise<T>,
): Promise<T> {
  if (!existsSync(keyFile)) {
    throw new StrataError("E_KEY", `no signing key at ${keyFile}`, {
      hint: "make one with `strata key generate --out keys/update`",
    });
  }
  return withGnupgHome(async (env) => {
    const imported = await run("gpg", ["--batch", "--import", keyFile], { env, reject: false });
    const { stdout } = await run("gpg", ["--batch", "--with-colons", "--list-secret-keys"], {
      env,
    });
    const fingerprint = /^fpr:(?:[^:]*:){8}([0-9A-F]{40}):/m.exec(stdout)?.[1];
    if (imported.exitCode !== 0 || !fingerprint) {
      throw new StrataError("E_KEY", `${keyFile} holds no OpenPGP secret key`, {
        hint: "pass the .key file that `strata key generate` wrote, not the .pub",
      });
    }
    return fn(async (file) => {
      await run(
        "gpg",
        ["--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", ""].concat([
          "--local-user",
          fingerprint,
          "--detach-sign",
          "--output",
          `${file}.sig`,
          file,
        ]),
        { env },
      );
    });
  });
}

/** Checks `file.sig` against `keyring` with gpgv (the host's verifier); throws E_SIGNATURE. */
export async function verifySignature(keyring: string, file: string): Promise<void> {
  const r = await run("gpgv", ["--keyring", keyring, `${file}.sig`, file], {
    env: { LC_ALL: "C" },
    reject: false,
  });
  if (r.exitCode !== 0) {
    throw new StrataError("E_SIGNATURE", `${file}: the signature does not verify`, {
      hint: r.output.trim().split("\n").slice(-2).join("; "),
    });
  }
}

/** Signs a scratch file with `key` and checks it with `keyring`, or throws E_KEY. */
export async function checkKeyMatches(key: string, keyring: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "strata-keycheck-"));
  try {
    const probe = join(dir, "probe");
    writeFileSync(probe, "strata key check\n");
    await withSigner(key, (sign) => sign(probe));
    await verifySignature(keyring, probe).catch((e) => {
      throw new StrataError(
        "E_KEY",
        `${key} does not sign for the recipe's keyring ${keyring}: devices would refuse what it signs`,
        { hint: "pass the .key whose .pub the recipe's `update.keyring` names", cause: e },
      );
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
