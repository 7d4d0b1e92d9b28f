/** Signing keys with the host's gpg: made, used, checked; never overwritten unasked. */
import assert from "node:assert/strict";
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { generateKey, verifySignature, withSigner } from "../../src/update/keys.js";
import { tempDir } from "../helpers.js";

describe("update keys", () => {
  const dir = tempDir("strata-keys-");
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("generates a secret key (0600) and a public keyring that verifies its signatures", async () => {
    const k = await generateKey(join(dir, "a"), "test");
    assert.match(k.fingerprint, /^[0-9A-F]{40}$/);
    assert.equal(statSync(k.secret).mode & 0o777, 0o600);
    const file = join(dir, "file");
    writeFileSync(file, "hello\n");
    await withSigner(k.secret, (sign) => sign(file));
    await verifySignature(k.public, file);
    writeFileSync(file, "hellO\n");
    await assert.rejects(verifySignature(k.public, file), { code: "E_SIGNATURE" });
  });

  it("a signature by another key does not verify", async () => {
    const other = await generateKey(join(dir, "b"), "other");
    const file = join(dir, "file2");
    writeFileSync(file, "x\n");
    await withSigner(other.secret, (sign) => sign(file));
    await assert.rejects(verifySignature(join(dir, "a.pub"), file), { code: "E_SIGNATURE" });
  });

  it("refuses to overwrite a key, and a .pub where the secret key belongs", async () => {
    const before = readFileSync(join(dir, "a.key"));
    await assert.rejects(generateKey(join(dir, "a"), "again"), { code: "E_KEY" });
    assert.deepEqual(readFileSync(join(dir, "a.key")), before);
    await assert.rejects(
      withSigner(join(dir, "a.pub"), async () => undefined),
      { code: "E_KEY" },
    );
    await assert.rejects(
      withSigner(join(dir, "missing.key"), async () => undefined),
      { code: "E_KEY" },
    );
  });
});
