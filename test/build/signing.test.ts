/**
 * The build's signing key: which outputs need one, the E_KEY errors before anything is built
 * (no key for a netboot output of an `update:` recipe; a key its keyring does not trust), and
 * the signer outputs get, checked with gpgv.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { before, describe, it } from "node:test";
import { checkSigningKey, outputsToSign, signerFor } from "../../src/build/signing.js";
import type { StrataError } from "../../src/errors.js";
import { loadRecipe } from "../../src/recipe/load.js";
import { generateKey, verifySignature } from "../../src/update/keys.js";
import { tempDir, writeRecipe } from "../helpers.js";

const LAYERS = `distro: { suite: trixie, arch: amd64 }
layers:
  - name: base
    bootstrap: { variant: minbase, packages: [linux-image-amd64] }
`;
const UPDATE = "update: { url: http://10.0.0.1/repo, keyring: keys/update.pub }\n";

describe("the build's signing key", () => {
  let keys: string;
  let pub: string;
  const recipe = (yaml: string) => {
    const file = writeRecipe(`name: kiosk\n${LAYERS}${yaml}`, { "keys/update.pub": "" });
    // The keyring is binary: written as it is, beside the recipe.
    writeFileSync(join(dirname(file), "keys/update.pub"), readFileSync(pub));
    return loadRecipe(file);
  };

  before(async () => {
    keys = tempDir("strata-keys-");
    pub = (await generateKey(join(keys, "update"), "update")).public;
    await generateKey(join(keys, "other"), "other");
  });

  it("is needed by the netboot outputs of a recipe with `update:` only", () => {
    const netboot = "outputs:\n  - { type: netboot, name: net, url: http://10.0.0.1/ }\n";
    assert.deepEqual(outputsToSign(recipe(netboot)), []);
    assert.deepEqual(
      outputsToSign(
        recipe(`${UPDATE}${netboot}  - { type: live }\n  - { type: netboot, url: http://x/ }\n`),
      ),
      ["outputs[0] (netboot 'net')", "outputs[2] (netboot)"],
    );
    assert.deepEqual(outputsToSign(recipe(`${UPDATE}outputs:\n  - { type: disk }\n`)), []);
  });

  it("refuses to build such an output without a key, naming it, the keyring and --key", async () => {
    const r = recipe(
      `${UPDATE}outputs:\n  - { type: netboot, name: net, url: http://10.0.0.1/ }\n`,
    );
    await assert.rejects(
      checkSigningKey(r, undefined),
      (e: StrataError) =>
        e.code === "E_KEY" &&
        /outputs\[0\] \(netboot 'net'\) of recipe 'kiosk' must be signed/.test(e.message) &&
        /keys\/update\.pub/.test(e.message) &&
        /--key/.test(e.hint ?? ""),
    );
    // A disk alone is signed when it is published, not built.
    await checkSigningKey(recipe(`${UPDATE}outputs:\n  - { type: disk }\n`), undefined);
  });

  it("refuses a key the recipe's keyring does not trust, and takes the one it does", async () => {
    const r = recipe(`${UPDATE}outputs:\n  - { type: netboot, url: http://10.0.0.1/ }\n`);
    await assert.rejects(
      checkSigningKey(r, join(keys, "other.key")),
      (e: StrataError) =>
        e.code === "E_KEY" && /does not sign for the recipe's keyring/.test(e.message),
    );
    await checkSigningKey(r, join(keys, "update.key"));
  });

  it("gives outputs a signer only with a key; its signatures verify with the keyring", async () => {
    assert.equal(signerFor(undefined), undefined);
    const sign = signerFor(join(keys, "update.key"));
    const file = join(keys, "manifest.json");
    writeFileSync(file, '{"version": 1}\n');
    await sign?.(file);
    await verifySignature(pub, file);
    writeFileSync(file, '{"version": 2}\n');
    await assert.rejects(verifySignature(pub, file), (e: StrataError) => e.code === "E_SIGNATURE");
  });
});
