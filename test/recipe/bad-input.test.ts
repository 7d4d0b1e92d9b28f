// Every bad input we know of (the list and the audit's "Bad-input cases tried"), each
// through the library's load path: a named error code, the place (path and line) where it
// matters, and never an internal error. Nothing is built; no root is needed.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { StrataError } from "../../src/errors.js";
import { loadRecipe } from "../../src/recipe/load.js";
import { parseSetArgs } from "../../src/recipe/vars.js";
import { cli, tempDir, writeRecipe } from "../helpers.js";

const BASE = `name: t
vars: { host: box, zone: UTC }
layers:
  - name: base
    bootstrap: { variant: minbase }
`;
/** BASE plus a layer `top` with these steps (step 0 is on line 8). */
const withSteps = (steps: string) => `${BASE}  - name: top\n    steps:\n${steps}`;
const withOutputs = (outputs: string) => `${BASE}outputs:\n${outputs}`;
const withTests = (checks: string) =>
  `${BASE}outputs: [{ type: disk }]\ntests:\n  boot_timeout: 60\n  checks:\n${checks}`;

interface Case {
  name: string;
  /** The recipe, or a function that makes the recipe's path (for files that are not YAML). */
  recipe: string | (() => string);
  files?: Record<string, string>;
  set?: Record<string, string>;
  /** Runs in the recipe's directory before loading. */
  setup?: (dir: string) => void;
  code: StrataError["code"];
  /** One of the problems has this path (and this line, and a message matching this). */
  path?: string;
  line?: number;
  message?: RegExp;
  /** How many problems there are, when that is part of the point. */
  count?: number;
}

const bomb = `a: &a [x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
name: t
layers: [{ name: base, bootstrap: {} }]
`;

const CASES: Case[] = [
  // bootstrap: { oci } (two kinds of bootstrap: the problem is the one the keys point at)
  {
    name: "an OCI bootstrap with mmdebstrap's options",
    recipe: "name: t\nlayers:\n  - name: base\n    bootstrap: { oci: img.tar, variant: minbase }\n",
    files: { "img.tar": "" },
    code: "E_RECIPE_INVALID",
    path: "layers[0].bootstrap",
    line: 4,
    message: /an OCI image \(`oci`\) or mmdebstrap's/,
  },
  {
    name: "a mistyped bootstrap option is named, not 'invalid input'",
    recipe: "name: t\nlayers:\n  - name: base\n    bootstrap: { varient: minbase }\n",
    code: "E_RECIPE_INVALID",
    path: "layers[0].bootstrap.varient",
    message: /unknown key 'varient'/,
  },
  {
    name: "an OCI image that is not beside the recipe",
    recipe: "name: t\nlayers:\n  - name: base\n    bootstrap: { oci: /etc/passwd }\n",
    code: "E_RECIPE_INVALID",
    path: "layers[0].bootstrap.oci",
    line: 4,
    message: /absolute/,
  },
  {
    name: "an OCI image reference that is not one",
    recipe: 'name: t\nlayers:\n  - name: base\n    bootstrap: { oci: "docker://Registry/x y" }\n',
    code: "E_RECIPE_INVALID",
    path: "layers[0].bootstrap.oci",
    message: /not a registry image reference/,
  },
  // The audit's table, in its order.
  {
    name: "wrong types",
    recipe: `name: 5\nlayers:\n  - name: base\n    bootstrap: { variant: minbase, packages: x }\n`,
    code: "E_RECIPE_INVALID",
    path: "layers[0].bootstrap.packages",
    line: 4,
  },
  {
    name: "unknown key (a typo)",
    recipe: `${BASE}    pakages: [vim]\n`,
    code: "E_RECIPE_INVALID",
    path: "layers[0].pakages",
    line: 6,
  },
  { name: "layers: []", recipe: "name: t\nlayers: []\n", code: "E_RECIPE_INVALID", line: 2 },
  {
    name: "an empty file",
    recipe: "",
    code: "E_RECIPE_INVALID",
    path: "",
    line: 1,
    message: /the recipe is empty/,
  },
  {
    name: "a cycle through from",
    recipe: `${BASE}  - name: a\n    from: b\n  - name: b\n    from: a\n`,
    code: "E_RECIPE_INVALID",
    message: /cycle: a → b → a/,
  },
  {
    name: "a layer on itself",
    recipe: `${BASE}  - name: a\n    from: a\n`,
    code: "E_RECIPE_INVALID",
    path: "layers[1].from",
    line: 7,
    message: /cannot sit on itself/,
    count: 1,
  },
  {
    name: "copy.from absolute",
    recipe: withSteps("      - copy: { from: /etc/passwd, to: /x }\n"),
    code: "E_RECIPE_INVALID",
    path: "layers[1].steps[0].copy.from",
    line: 8,
    message: /absolute/,
  },
  {
    name: "copy.from with ../",
    recipe: withSteps("      - copy: { from: ../../../etc/passwd, to: /x }\n"),
    code: "E_RECIPE_INVALID",
    path: "layers[1].steps[0].copy.from",
    message: /outside|does not exist/,
  },
  {
    name: "copy.from a symlink to /etc",
    recipe: withSteps("      - copy: { from: etc, to: /x }\n"),
    setup: (dir) => symlinkSync("/etc", join(dir, "etc")),
    code: "E_RECIPE_INVALID",
    path: "layers[1].steps[0].copy.from",
    message: /outside the recipe's directory/,
  },
  {
    name: "copy.from holding a FIFO",
    recipe: withSteps("      - copy: { from: files, to: /x }\n"),
    files: { "files/ok.txt": "ok" },
    setup: (dir) => execFileSync("mkfifo", [join(dir, "files", "pipe")]),
    code: "E_RECIPE_INVALID",
    path: "layers[1].steps[0].copy.from",
    line: 8,
    message: /pipe \(a FIFO\)/,
  },
  {
    name: "esp_size 1e400",
    recipe: withOutputs("  - { type: disk, esp_size: 1e400 }\n"),
    code: "E_RECIPE_INVALID",
    path: "outputs[0].esp_size",
    line: 7,
    message: /too large \(YAML reads it as infinity\)/,
  },
  {
    name: "a size of 1e35 T",
    recipe: withOutputs(`  - { type: disk, size: ${"1".padEnd(36, "0")}T }\n`),
    code: "E_RECIPE_INVALID",
    path: "outputs[0].size",
    message: /too large: a size is at most 16T/,
  },
  {
    name: "a size in bytes above 16 TiB",
    recipe: withOutputs(`  - { type: disk, size: ${2 ** 50} }\n`),
    code: "E_RECIPE_INVALID",
    path: "outputs[0].size",
    message: /at most 16T/,
  },
  {
    name: "a fractional number of bytes",
    recipe: withOutputs("  - { type: disk, size: 1.5 }\n"),
    code: "E_RECIPE_INVALID",
    path: "outputs[0].size",
    message: /expected string or a whole number, got 1.5/,
  },
  {
    name: "uid 2^32-1",
    recipe: withSteps(`      - users: [{ name: a, uid: ${2 ** 32 - 1} }]\n`),
    code: "E_RECIPE_INVALID",
    path: "layers[1].steps[0].users[0].uid",
    message: /2\^31-2/,
  },
  {
    name: "gid 2^32",
    recipe: withSteps(`      - groups: [{ name: a, gid: ${2 ** 32} }]\n`),
    code: "E_RECIPE_INVALID",
    path: "layers[1].steps[0].groups[0].gid",
  },
  {
    name: "uid 65535",
    recipe: withSteps("      - users: [{ name: a, uid: 65535 }]\n"),
    code: "E_RECIPE_INVALID",
    path: "layers[1].steps[0].users[0].uid",
    message: /16-bit -1/,
  },
  {
    name: "a check timeout of 1e308 s",
    recipe: withTests('    - { name: a, run: "true", timeout: 1e308 }\n'),
    code: "E_RECIPE_INVALID",
    path: "tests.checks[0].timeout",
    message: /at most 86400/,
  },
  {
    name: "a boot timeout of 0",
    recipe: withTests('    - { name: a, run: "true" }\n').replace(
      "boot_timeout: 60",
      "boot_timeout: 0",
    ),
    code: "E_RECIPE_INVALID",
    path: "tests.boot_timeout",
  },
  {
    name: "a unicode layer name",
    recipe: `${BASE}  - name: bäse\n`,
    code: "E_RECIPE_INVALID",
    path: "layers[1].name",
  },
  {
    name: "a layer named ../../etc",
    recipe: `${BASE}  - name: ../../etc\n`,
    code: "E_RECIPE_INVALID",
    path: "layers[1].name",
  },
  {
    name: "an output named a/b",
    recipe: withOutputs("  - { type: dir, name: a/b }\n"),
    code: "E_RECIPE_INVALID",
    path: "outputs[0].name",
  },
  {
    name: "an output named ..",
    recipe: withOutputs("  - { type: dir, name: '..' }\n"),
    code: "E_RECIPE_INVALID",
    path: "outputs[0].name",
  },
  {
    name: "${undefined} outside run",
    recipe: withSteps("      - hostname: ${undefined}\n"),
    code: "E_RECIPE_INVALID",
    path: "layers[1].steps[0].hostname",
    line: 8,
    message: /unknown variable '\$\{undefined\}'/,
  },
  {
    name: "an output named manifest.json",
    recipe: withOutputs("  - { type: dir, name: manifest.json }\n"),
    code: "E_RECIPE_INVALID",
    path: "outputs[0].name",
    line: 7,
    message: /strata's own files/,
  },
  {
    name: "an output named like a layer module",
    recipe: withOutputs("  - { type: dir, name: 01-base.sqfs }\n"),
    code: "E_RECIPE_INVALID",
    path: "outputs[0].name",
    message: /layer module/,
  },
  {
    name: "an output named report.json",
    recipe: withOutputs("  - { type: dir, name: report.json }\n"),
    code: "E_RECIPE_INVALID",
    path: "outputs[0].name",
  },
  {
    name: "a dir named x.tar.zst beside a tar named x",
    recipe: withOutputs("  - { type: tar, name: x }\n  - { type: dir, name: x.tar.zst }\n"),
    code: "E_RECIPE_INVALID",
    path: "outputs[1].name",
    line: 8,
    message: /outputs\[0\] writes the same file, x.tar.zst/,
  },
  {
    name: "a dir named like a disk's sidecar",
    recipe: withOutputs("  - { type: disk, name: vm }\n  - { type: dir, name: vm.img.json }\n"),
    code: "E_RECIPE_INVALID",
    path: "outputs[1].name",
  },
  {
    name: "two outputs of the same default name",
    recipe: withOutputs("  - { type: dir }\n  - { type: dir }\n"),
    code: "E_RECIPE_INVALID",
    path: "outputs[1]",
    line: 8,
  },
  {
    name: "--set hostname='x;id' reaching the hostname stage, at the stage",
    recipe: `${BASE.replace("host: box", "hostname: box")}  - name: sys\n    stages: [hostname]\n`,
    set: { hostname: "x;id" },
    code: "E_RECIPE_INVALID",
    path: "layers[1].stages[0]",
    line: 7,
    message: /from --set hostname: hostname: .*got 'x;id'/,
  },
  {
    name: "timezone ../../../etc/shadow in vars, at the var",
    recipe: `${BASE.replace("zone: UTC", "timezone: ../../../etc/shadow")}  - name: sys\n    stages: [timezone]\n`,
    code: "E_RECIPE_INVALID",
    path: "vars.timezone",
    line: 2,
    message: /got '..\/..\/..\/etc\/shadow'/,
  },
  {
    name: "a serial console that is not a tty name",
    recipe: `${BASE.replace("zone: UTC", "serial_console: 'x y'")}  - name: sys\n    stages: [serial-console]\n`,
    code: "E_RECIPE_INVALID",
    path: "vars.serial_console",
  },
  {
    name: "ssh keys that hide a second line in a step",
    recipe: withSteps(
      '      - users: [{ name: root, ssh_authorized_keys: ["ssh-ed25519 A\\nssh-rsa B"] }]\n',
    ),
    code: "E_RECIPE_INVALID",
    path: "layers[1].steps[0].users[0].ssh_authorized_keys[0]",
  },
  {
    name: "a mirror with a newline and [trusted=yes]",
    recipe: `name: t\ndistro:\n  mirror: "http://a.example/debian trixie main\\ndeb [trusted=yes] http://b.example/x"\nlayers: [{ name: base, bootstrap: {} }]\n`,
    code: "E_RECIPE_INVALID",
    path: "distro.mirror",
    line: 3,
    message: /no spaces, newlines|may not hold spaces, newlines/,
  },
  {
    name: "a file:/// mirror",
    recipe: `name: t\ndistro: { mirror: "file:///etc" }\nlayers: [{ name: base, bootstrap: {} }]\n`,
    code: "E_RECIPE_INVALID",
    path: "distro.mirror",
    message: /only http:\/\/ and https:\/\//,
  },
  {
    name: "an ftp security mirror",
    recipe: `name: t\ndistro: { security: "ftp://x.example/" }\nlayers: [{ name: base, bootstrap: {} }]\n`,
    code: "E_RECIPE_INVALID",
    path: "distro.security",
  },
  {
    name: "a mirror URL with a fragment",
    recipe: `name: t\ndistro: { mirror: "http://x.example/debian#x" }\nlayers: [{ name: base, bootstrap: {} }]\n`,
    code: "E_RECIPE_INVALID",
    path: "distro.mirror",
  },
  { name: "--set nosuch=1", recipe: BASE, set: { nosuch: "1" }, code: "E_USAGE" },
  {
    name: "${hasOwnProperty}",
    recipe: withSteps("      - write: { path: /x, content: '${hasOwnProperty}' }\n"),
    code: "E_RECIPE_INVALID",
    path: "layers[1].steps[0].write.content",
    message: /unknown variable/,
  },
  { name: "--set constructor=x", recipe: BASE, set: { constructor: "x" }, code: "E_USAGE" },
  { name: "--set __proto__=x", recipe: BASE, set: { ["__proto__"]: "x" }, code: "E_USAGE" },
  {
    name: "a YAML alias bomb",
    recipe: bomb,
    code: "E_RECIPE_YAML",
    line: 2,
    message: /Excessive alias count/,
  },
  {
    name: "duplicate keys",
    recipe: "name: t\nname: u\nlayers: []\n",
    code: "E_RECIPE_YAML",
    line: 2,
  },
  {
    name: "tabs for indentation",
    recipe: "name: t\nlayers:\n\t- name: base\n",
    code: "E_RECIPE_YAML",
  },
  {
    name: "a directory named strata.yaml",
    recipe: () => {
      const dir = tempDir("strata-dir-");
      mkdirSync(join(dir, "strata.yaml"));
      return dir;
    },
    code: "E_RECIPE_NOT_FOUND",
    message: /is a directory, not a recipe file/,
  },
  {
    name: "a directory named strata.yaml, passed itself",
    recipe: () => {
      const dir = join(tempDir("strata-dir-"), "strata.yaml");
      mkdirSync(dir);
      return dir;
    },
    code: "E_RECIPE_NOT_FOUND",
    message: /is a directory, not a recipe file/,
  },
  {
    name: "a FIFO in the recipe's place",
    recipe: () => {
      const dir = tempDir("strata-fifo-");
      execFileSync("mkfifo", [join(dir, "strata.yaml")]);
      return dir;
    },
    code: "E_RECIPE_READ",
    message: /not a regular file/,
  },
  {
    name: "a recipe too large to be one",
    recipe: () => {
      const path = writeRecipe("name: t\n");
      writeFileSync(path, `# ${"x".repeat(5 * 1024 * 1024)}\n`);
      return path;
    },
    code: "E_RECIPE_READ",
    message: /too large for a recipe/,
  },
  // What else reaches a shell, a config line or a number.
  {
    name: "a run env name that is not one",
    recipe: withSteps('      - run: { script: "true", env: { "A=B": x } }\n'),
    code: "E_RECIPE_INVALID",
    path: "layers[1].steps[0].run.env.A=B",
    line: 8,
    message: /key 'A=B': an environment variable name/,
  },
  {
    name: "network that is not a boolean",
    recipe: withSteps('      - run: { script: "true", network: "yes" }\n'),
    code: "E_RECIPE_INVALID",
    path: "layers[1].steps[0].run.network",
    message: /expected boolean/,
  },
  {
    name: "a service name with a space",
    recipe: withSteps("      - services: { enable: ['ssh.service --now'] }\n"),
    code: "E_RECIPE_INVALID",
    path: "layers[1].steps[0].services.enable[0]",
  },
  {
    name: "a hostname longer than 64 characters",
    recipe: withSteps(`      - hostname: ${"a".repeat(40)}.${"b".repeat(40)}\n`),
    code: "E_RECIPE_INVALID",
    path: "layers[1].steps[0].hostname",
  },
  {
    name: "a hostname label ending in -",
    recipe: withSteps("      - hostname: box-.lan\n"),
    code: "E_RECIPE_INVALID",
    path: "layers[1].steps[0].hostname",
  },
  {
    name: "a kernel command line with a new line",
    recipe: withOutputs('  - { type: disk, cmdline: "quiet\\nset superusers=" }\n'),
    code: "E_RECIPE_INVALID",
    path: "outputs[0].cmdline",
  },
  {
    name: "a password hash with a colon",
    recipe: withSteps("      - users: [{ name: a, password: 'x:0:0' }]\n"),
    code: "E_RECIPE_INVALID",
    path: "layers[1].steps[0].users[0].password",
  },
  // Updates: a keyring beside the recipe, disks that can take updates, health with update.
  {
    name: "update without a keyring file",
    recipe: `${BASE}update: { url: "http://u.example/x", keyring: keys/none.pub }\n`,
    code: "E_RECIPE_INVALID",
    path: "update.keyring",
    line: 6,
    message: /the keyring 'keys\/none.pub' does not exist/,
  },
  {
    name: "update keyring outside the recipe",
    recipe: `${BASE}update: { url: "http://u.example/x", keyring: ../../../etc/hostname }\n`,
    code: "E_RECIPE_INVALID",
    path: "update.keyring",
    message: /outside the recipe/,
  },
  {
    name: "update url that is not http",
    recipe: `${BASE}update: { url: "file:///etc", keyring: k.pub }\n`,
    files: { "k.pub": "x" },
    code: "E_RECIPE_INVALID",
    path: "update.url",
  },
  {
    name: "update on a BIOS disk with btrfs and on a flat root (a BIOS ext4 disk is fine)",
    recipe: `${BASE}update: { url: "http://u.example/x", keyring: k.pub }\noutputs:\n  - { type: disk, boot: bios, filesystem: btrfs }\n  - { type: disk, name: f, root: flat }\n  - { type: disk, name: b, boot: bios }\n`,
    files: { "k.pub": "x" },
    code: "E_RECIPE_INVALID",
    count: 2,
    path: "outputs[0].filesystem",
    message: /GRUB cannot write on btrfs/,
  },
  {
    name: "health without update",
    recipe: `${BASE}health:\n  - { name: up, run: "true" }\n`,
    code: "E_RECIPE_INVALID",
    path: "health",
    message: /no `update`/,
  },
  {
    name: "a health check without run",
    recipe: `${BASE}update: { url: "http://u.example/x", keyring: k.pub }\nhealth:\n  - { name: up }\n`,
    files: { "k.pub": "x" },
    code: "E_RECIPE_INVALID",
    path: "health[0].run",
  },
];

function load(c: Case): StrataError {
  let path: string;
  if (typeof c.recipe === "function") path = c.recipe();
  else {
    path = writeRecipe(c.recipe, c.files);
    c.setup?.(dirname(path));
  }
  try {
    loadRecipe(path, { set: c.set });
  } catch (e) {
    assert.ok(e instanceof StrataError, `not a StrataError: ${(e as Error)?.stack ?? String(e)}`);
    return e;
  }
  assert.fail("the recipe was accepted");
}

describe("bad input", () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.code}`, () => {
      const e = load(c);
      assert.equal(e.code, c.code, `${e.message}\n${JSON.stringify(e.problems, null, 2)}`);
      const shown = JSON.stringify({ message: e.message, problems: e.problems }, null, 2);
      const matching = e.problems.filter(
        (p) =>
          (c.path === undefined || p.path === c.path) &&
          (c.line === undefined || p.line === c.line) &&
          (c.message === undefined || c.message.test(p.message)),
      );
      if (c.path !== undefined || c.line !== undefined) {
        assert.ok(matching.length > 0, `no problem at ${c.path} line ${c.line}: ${shown}`);
      } else if (c.message) {
        assert.ok(matching.length > 0 || c.message.test(e.message), shown);
      }
      for (const p of e.problems) assert.ok(p.file && p.line >= 1, `a place: ${shown}`);
      if (c.count !== undefined) assert.equal(e.problems.length, c.count, shown);
    });
  }

  it("--set without a name is a usage error", () => {
    assert.throws(() => parseSetArgs(["=1"]), /expected key=value/);
  });

  it("schema and semantic problems are reported together", () => {
    const e = load({
      name: "both",
      recipe: `${BASE}  - name: top
    from: bsae
    steps:
      - copy: { from: missing, to: /x }
      - hostname: 'not ok'
outputs:
  - { type: dir, name: manifest.json }
  - { type: disk, esp_size: lots }
`,
      code: "E_RECIPE_INVALID",
    });
    assert.deepEqual(
      e.problems.map((p) => [p.path, p.line]),
      [
        ["layers[1].from", 7],
        ["layers[1].steps[0].copy.from", 9],
        ["layers[1].steps[1].hostname", 10],
        ["outputs[0].name", 12],
        ["outputs[1].esp_size", 13],
      ],
    );
  });

  it("a copy.from link inside the recipe's directory is accepted (and followed)", () => {
    const path = writeRecipe(withSteps("      - copy: { from: current, to: /opt/app }\n"), {
      "v2/app.sh": "echo 2\n",
    });
    symlinkSync("v2", join(dirname(path), "current"));
    assert.equal(loadRecipe(path).layers[1]?.steps[0]?.kind, "copy");
  });
});

describe("bad input on the command line", () => {
  it("validate: an alias bomb is exit 1 with the error's code and place, no stack", () => {
    const path = writeRecipe(bomb);
    const r = cli(["validate", path]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /error\[E_RECIPE_YAML\]/);
    assert.match(r.stderr, new RegExp(`${path}:2:\\d+: .*Excessive alias count`));
    assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
  });

  it("validate: a directory named strata.yaml, and --set constructor=x", () => {
    const dir = tempDir("strata-dir-");
    mkdirSync(join(dir, "strata.yaml"));
    const r = cli(["validate", dir]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /error\[E_RECIPE_NOT_FOUND\]: .*strata.yaml is a directory/);
    assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);

    const set = cli(["validate", writeRecipe(BASE), "--set", "constructor=x", "--json"]);
    assert.equal(set.code, 2, set.stderr);
    assert.equal(JSON.parse(set.stdout).error.code, "E_USAGE");
  });

  it("--mirror must be one http(s) URL, for every command that takes it", () => {
    const recipe = writeRecipe(BASE);
    for (const args of [
      ["plan", recipe, "--mirror", "file:///etc"],
      ["build", recipe, "--mirror", "http://a.example/debian\ndeb [trusted=yes] http://b/ x"],
      ["cache", "gc", "--mirror", "ftp://x.example/"],
    ]) {
      const r = cli(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /error\[E_USAGE\]: --mirror /);
      assert.match(r.stderr, /hint: e\.g\. --mirror http/);
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
    }
  });
});
