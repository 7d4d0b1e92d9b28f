/**
 * The build's signing key (`--key`): what it signs, and the checks before anything is built.
 *
 * A recipe with `update:` carries its keyring into its images, and a netboot machine then
 * trusts only a manifest signed by it (assets/initramfs-tools/scripts/strata-functions), so a
 * netboot output of such a recipe is signed by the build. The key is checked against the
 * recipe's keyring first: a directory signed with a key the machines do not trust would boot
 * none of them, and that should fail here, not at the first boot.
 */
import { resolve } from "node:path";
import { StrataError } from "../errors.js";
import type { LoadedRecipe } from "../recipe/load.js";
import { checkKeyMatches, withSigner } from "../update/keys.js";

/** Labels of the outputs whose files the build must sign (netboot outputs of an `update:` recipe). */
export function outputsToSign(recipe: LoadedRecipe): string[] {
  if (!recipe.recipe.update) return [];
  return recipe.recipe.outputs.flatMap((o, i) =>
    o.type === "netboot" ? [`outputs[${i}] (netboot${o.name ? ` '${o.name}'` : ""})`] : [],
  );
}

/** Throws E_KEY when an output needs a key the build was not given, or the key is not the recipe's. */
export async function checkSigningKey(
  recipe: LoadedRecipe,
  key: string | undefined,
): Promise<void> {
  const update = recipe.recipe.update;
  const needing = outputsToSign(recipe);
  if (key === undefined) {
    if (needing.length === 0) return;
    throw new StrataError(
      "E_KEY",
      `${needing.join(", ")} of recipe '${recipe.recipe.name}' must be signed: its machines boot only a manifest signed by the recipe's update keyring (${update?.keyring})`,
      {
        hint: "build with --key keys/update.key, the secret key of that keyring (`strata key generate`)",
      },
    );
  }
  if (update) await checkKeyMatches(resolve(key), resolve(recipe.dir, update.keyring));
}

/** The signer outputs get (`OutputEnv.sign`): `file` to `file.sig`, with `key`. */
export function signerFor(key: string | undefined): ((file: string) => Promise<void>) | undefined {
  if (key === undefined) return undefined;
  const keyFile = resolve(key);
  return (file) => withSigner(keyFile, (sign) => sign(file));
}
