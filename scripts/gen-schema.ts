/** Writes schema/recipe.schema.json from the zod schema: `npm run schema`. */
import { writeFileSync } from "node:fs";
import { recipeJsonSchema } from "../src/recipe/json-schema.js";

const target = new URL("../../schema/recipe.schema.json", import.meta.url);
writeFileSync(target, recipeJsonSchema());
process.stdout.write(`wrote ${target.pathname}\n`);
