import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { recipeJsonSchema } from "../../src/recipe/json-schema.js";
import { ROOT } from "../helpers.js";

it("the committed JSON Schema matches the zod schema (run `npm run schema` when it does not)", () => {
  const committed = readFileSync(join(ROOT, "schema", "recipe.schema.json"), "utf8");
  assert.equal(committed, recipeJsonSchema());
});
