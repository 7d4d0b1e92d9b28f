/**
 * The verify pass's kernel check of the outputs that boot into RAM (netboot, live), through the
 * recipe's load path, and the netboot schema's http-only url.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type RecipeProblem, StrataError } from "../../src/errors.js";
import { kernelProblems } from "../../src/outputs/kernel-check.js";
import { NetbootOutput } from "../../src/outputs/netboot/schema.js";
import { loadRecipe } from "../../src/recipe/load.js";
import { Recipe } from "../../src/recipe/schema.js";
import { writeRecipe } from "../helpers.js";

const NETBOOT = '  - { type: netboot, url: "http://10.0.0.1:8080/kiosk" }\n';
const LIVE = "  - { type: live }\n";

/** The problems loading `yaml` reports (none when it loads). */
function problems(yaml: string): RecipeProblem[] {
  try {
    loadRecipe(writeRecipe(yaml));
    return [];
  } catch (e) {
    assert.ok(e instanceof StrataError, String(e));
    assert.equal(e.code, "E_RECIPE_INVALID", e.message);
    return e.problems;
  }
}

const kernelProblemsOf = (yaml: string) =>
  problems(yaml).filter((p) => /boots a kernel/.test(p.message));

const noKernel = (arch: string, outputs: string) => `name: t
distro: { arch: ${arch} }
layers:
  - name: base
    bootstrap: { variant: minbase, packages: [systemd] }
  - name: app
    packages: [vim]
outputs:
${outputs}`;

describe("kernel check", () => {
  it("refuses a netboot output over a stack without a kernel, naming the layers", () => {
    const found = problems(noKernel("amd64", NETBOOT));
    assert.equal(found.length, 1, JSON.stringify(found));
    const [p] = found as [RecipeProblem];
    assert.equal(p.path, "outputs[0].type");
    assert.match(p.message, /netboot output boots a kernel/);
    assert.match(p.message, /\(base → app\)/);
    assert.equal(p.hint, "add linux-image-amd64 to the packages of one of these layers");
    assert.equal(p.line, 9);
  });

  it("refuses a live output the same way, with the recipe's arch in the hint", () => {
    const found = kernelProblemsOf(noKernel("arm64", LIVE));
    assert.equal(found.length, 1, JSON.stringify(found));
    assert.match(found[0]?.message ?? "", /live output boots a kernel.*\(base → app\)/);
    assert.match(found[0]?.hint ?? "", /linux-image-arm64/);
  });

  it("reports each booting output, and not the outputs that boot nothing", () => {
    const found = problems(noKernel("amd64", `${NETBOOT}${LIVE}  - { type: tar }\n`));
    assert.deepEqual(
      found.map((p) => p.path),
      ["outputs[0].type", "outputs[1].type"],
    );
  });

  it("passes a stack whose bootstrap packages include the kernel", () => {
    const yaml = `name: t
layers:
  - name: base
    bootstrap: { variant: minbase, packages: [systemd, linux-image-amd64] }
  - name: app
    packages: [vim]
outputs:
${NETBOOT}${LIVE}`;
    assert.deepEqual(problems(yaml), []);
    const loaded = loadRecipe(writeRecipe(yaml));
    assert.equal(loaded.recipe.outputs.length, 2);
  });

  it("passes a kernel in a layer's packages, or named by a run step", () => {
    const inPackages = noKernel("amd64", NETBOOT).replace(
      "packages: [vim]",
      "packages: [vim, linux-image-cloud-amd64]",
    );
    assert.deepEqual(problems(inPackages), []);
    const inRun = noKernel("amd64", LIVE).replace(
      "    packages: [vim]\n",
      '    steps:\n      - run: "apt-get install -y linux-image-$(dpkg --print-architecture)"\n',
    );
    assert.deepEqual(problems(inRun), []);
  });

  it("does not count a kernel a layer only removes", () => {
    const removed = noKernel("amd64", NETBOOT).replace(
      "packages: [vim]",
      "packages: [vim]\n    remove: [linux-image-amd64]",
    );
    assert.equal(kernelProblemsOf(removed).length, 1, JSON.stringify(problems(removed)));
  });

  it("follows from: a kernel in a layer outside the output's stack does not count", () => {
    const yaml = (output: string) => `name: t
layers:
  - name: base
    bootstrap: { variant: minbase }
  - name: kern
    packages: [linux-image-amd64]
  - name: app
    from: base
    packages: [vim]
outputs:
${output}`;
    // The default top is the last layer, app, which sits on base, not on kern.
    const found = kernelProblemsOf(yaml(NETBOOT));
    assert.equal(found.length, 1, JSON.stringify(found));
    assert.match(found[0]?.message ?? "", /\(base → app\)/);
    assert.doesNotMatch(found[0]?.message ?? "", /\bkern\b/);
    assert.equal(kernelProblemsOf(yaml("  - { type: live, layer: app }\n")).length, 1);
    assert.deepEqual(problems(yaml("  - { type: live, layer: kern }\n")), []);
    assert.deepEqual(
      problems(yaml(NETBOOT).replace("from: base", "from: kern")),
      [],
      "app on kern has the kernel",
    );
  });

  it("follows a chain of several from:, and stops at the bootstrap layer", () => {
    const recipe = Recipe.parse({
      name: "t",
      layers: [
        { name: "other", bootstrap: { packages: ["linux-image-amd64"] } },
        { name: "base", bootstrap: {} },
        { name: "mid", from: "base", packages: ["vim"] },
        { name: "top", from: "mid" },
      ],
    });
    const found = kernelProblems(recipe, { layer: "top" }, "netboot output");
    assert.equal(found.length, 1);
    assert.match(found[0]?.message ?? "", /\(base → mid → top\)/);
    assert.deepEqual(kernelProblems(recipe, { layer: "other" }, "netboot output"), []);
    // Without `layer`, the last layer is the top.
    assert.equal(kernelProblems(recipe, {}, "live output").length, 1);
  });
});

describe("netboot schema", () => {
  it("takes an http:// url", () => {
    const r = NetbootOutput.safeParse({ type: "netboot", url: "http://10.0.0.1:8080/kiosk" });
    assert.ok(r.success, JSON.stringify(r.error?.issues));
    assert.equal(r.data.url, "http://10.0.0.1:8080/kiosk");
    assert.equal(r.data.cmdline, "");
  });

  it("refuses an https:// url, saying why", () => {
    const r = NetbootOutput.safeParse({ type: "netboot", url: "https://example.org/kiosk" });
    assert.ok(!r.success);
    assert.deepEqual(r.error.issues[0]?.path, ["url"]);
    assert.match(r.error.issues.map((i) => i.message).join("\n"), /http:\/\//);
    assert.ok(!NetbootOutput.safeParse({ type: "netboot" }).success, "url is required");
  });

  it("refuses an https:// url in a recipe, at the url", () => {
    const yaml = noKernel("amd64", '  - { type: netboot, url: "https://example.org/kiosk" }\n');
    const found = problems(yaml.replace("[systemd]", "[systemd, linux-image-amd64]"));
    assert.deepEqual(
      found.map((p) => p.path),
      ["outputs[0].url"],
    );
    assert.match(found[0]?.message ?? "", /http:\/\//);
  });
});
