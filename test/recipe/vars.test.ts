// Vars reach scripts as variables, never as shell text: a `run` step gets them in its env (so
// the layer's key covers them) and a test check gets quoted assignments; elsewhere they are
// substituted and then checked by the schema. Names are own names only.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { StrataError } from "../../src/errors.js";
import { loadRecipe } from "../../src/recipe/load.js";
import { parseSetArgs, scriptVars, substitute, type VarProblem } from "../../src/recipe/vars.js";
import { tempDir, writeRecipe } from "../helpers.js";

const recipe = (steps: string, vars = "motd: hello") => `name: t
vars: { ${vars} }
layers:
  - name: base
    bootstrap: { variant: minbase }
    steps:
${steps}`;

const stepsOf = (path: string, set?: Record<string, string>) =>
  loadRecipe(path, { set }).layers[0]?.steps.map((s) => s.step);

describe("vars in run scripts", () => {
  it("pass a --set value with $(...) and ; to the script as env, never as shell text", () => {
    const marker = join(tempDir("strata-vars-"), "pwned");
    const value = `$(touch ${marker});id`;
    const path = writeRecipe(recipe(`      - run: printf '%s' "\${motd}"\n`));
    const steps = stepsOf(path, { motd: value });
    assert.deepEqual(steps, [{ run: { script: `printf '%s' "\${motd}"`, env: { motd: value } } }]);

    // What the build's `sh -e` would do with it: the value comes out as it went in.
    const run = steps?.[0]?.run as { script: string; env: Record<string, string> };
    const out = execFileSync("sh", ["-e", "-c", run.script], {
      env: { PATH: process.env.PATH, ...run.env },
      encoding: "utf8",
    });
    assert.equal(out, value);
    assert.equal(existsSync(marker), false, "the command in the value never ran");
  });

  it("merge into the object form's env, keep the shell's own names and $${ as a literal", () => {
    const path = writeRecipe(
      recipe(
        `      - run: { name: greet, script: "echo \${motd} \${HOME} $\${motd}", env: { A: "\${motd}!" } }
      - run: echo \${HOME}
`,
      ),
    );
    assert.deepEqual(stepsOf(path), [
      {
        run: {
          name: "greet",
          script: "echo ${motd} ${HOME} ${motd}",
          env: { A: "hello!", motd: "hello" },
        },
      },
      { run: "echo ${HOME}" },
    ]);
  });

  it("refuse an env entry that would hide a var the script names", () => {
    const path = writeRecipe(
      recipe(`      - run: { script: "echo \${motd}", env: { motd: other } }\n`),
    );
    assert.throws(
      () => loadRecipe(path),
      (e: StrataError) => {
        assert.equal(e.problems[0]?.path, "layers[0].steps[0].run.env.motd");
        assert.match(e.problems[0]?.message ?? "", /would hide the recipe variable 'motd'/);
        return true;
      },
    );
  });

  it("give test checks quoted assignments before the command", () => {
    const problems: VarProblem[] = [];
    const out = substitute(
      { tests: { checks: [{ name: "motd", run: 'test "$(cat /etc/motd)" = "${motd}"' }] } },
      new Map([["motd", "it's $(id)"]]),
      problems,
    );
    assert.deepEqual(problems, []);
    const run = (out as { tests: { checks: { run: string }[] } }).tests.checks[0]?.run ?? "";
    assert.equal(run, `motd='it'\\''s $(id)'\ntest "$(cat /etc/motd)" = "\${motd}"`);
    assert.equal(
      execFileSync("sh", ["-c", `${run.split("\n")[0]}\nprintf %s "$motd"`]).toString(),
      "it's $(id)",
    );
  });

  it("are substituted as text elsewhere, and then checked by the schema", () => {
    const path = writeRecipe(recipe("      - hostname: ${motd}\n"));
    assert.deepEqual(stepsOf(path), [{ hostname: "hello" }]);
    assert.throws(
      () => loadRecipe(path, { set: { motd: "x;id" } }),
      (e: StrataError) =>
        e.code === "E_RECIPE_INVALID" && e.problems[0]?.path === "layers[0].steps[0].hostname",
    );
  });
});

describe("var names", () => {
  it("are own names only: ${constructor} is unknown, --set constructor=x undeclared", () => {
    const path = writeRecipe(recipe("      - write: { path: /x, content: '${hasOwnProperty}' }\n"));
    assert.throws(
      () => loadRecipe(path),
      (e: StrataError) =>
        /unknown variable '\$\{hasOwnProperty\}'/.test(e.problems[0]?.message ?? ""),
    );
    assert.throws(
      () => loadRecipe(writeRecipe(recipe("      - run: 'true'\n")), { set: { constructor: "x" } }),
      (e: StrataError) => e.code === "E_USAGE" && /no variable 'constructor'/.test(e.message),
    );
  });

  it("--set __proto__=x is a name like any other", () => {
    const set = parseSetArgs(["__proto__=x", "a=b=c"]);
    assert.deepEqual(Object.keys(set), ["__proto__", "a"]);
    assert.equal(set.a, "b=c");
    assert.throws(() => parseSetArgs(["=1"]), /expected key=value/);
  });

  it("scriptVars names only declared vars, once each, in order", () => {
    const vars = new Map([
      ["a", "1"],
      ["b", "2"],
    ]);
    assert.deepEqual(scriptVars("${b} ${a} ${b} ${c} $${a}", vars), {
      script: "${b} ${a} ${b} ${c} ${a}",
      names: ["b", "a"],
    });
  });
});
