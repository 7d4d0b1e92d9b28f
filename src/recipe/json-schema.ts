/** The JSON Schema of a recipe, for editors, generated from the zod schema (never by hand). */
import { z } from "zod";
import { Recipe } from "./schema.js";

export function recipeJsonSchema(): string {
  const schema = z.toJSONSchema(Recipe, { io: "input", unrepresentable: "any" });
  return `${JSON.stringify({ ...schema, title: "strata recipe" }, null, 2)}\n`;
}
