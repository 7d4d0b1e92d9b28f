/**
 * The iso output's options (defaults, strict keys, the installed disk's own keys), its
 * firmware per architecture, the disk output it carries, its host tools and file name, and
 * its checks through the recipe's load path.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type RecipeProblem, StrataError } from "../../../src/errors.js";
import { TOOLS } from "../../../src/host/tools.js";
import { diskOutput } from "../../../src/outputs/disk/index.js";
import {
  installedDisk,
  isoFirmware,
  isoOutput,
  liveEntries,
  PERSISTENCE_LABEL,
  xorrisoArgs,
} from "../../../src/outputs/iso/index.js";
import { IsoOutput } from "../../../src/outputs/iso/schema.js";
import { loadRecipe } from "../../../src/recipe/load.js";
import { Recipe } from "../../../src/recipe/schema.js";
import { writeRecipe } from "../../helpers.js";

const iso = (o: Record<string, unknown> = {}) => IsoOutput.parse({ type: "iso", ...o });

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

const recipe = (arch: string, outputs: string, kernel = true) => `name: t
distro: { arch: ${arch} }
layers:
  - name: base
    bootstrap: { variant: minbase, packages: [systemd${kernel ? `, linux-image-${arch}` : ""}] }
  - name: app
    packages: [vim]
outputs:
${outputs}`;

describe("iso schema", () => {
  it("defaults to the live system only, on a GPT, UEFI, ext4, immutable disk layout", () => {
    const o = iso();
    assert.equal(o.installer, false);
    assert.deepEqual(o.disk, {
      table: "gpt",
      boot: "uefi",
      filesystem: "ext4",
      root: "immutable",
    });
    assert.equal(o.firmware, undefined, "the firmware default depends on the arch");
    assert.equal(o.cmdline, "");
    assert.equal(o.console, undefined);
  });

  it("fills the disk keys left out, and keeps those given", () => {
    const o = iso({ installer: true, disk: { boot: "bios", root: "persistent" } });
    assert.equal(o.installer, true);
    assert.deepEqual(o.disk, {
      table: "gpt",
      boot: "bios",
      filesystem: "ext4",
      root: "persistent",
    });
    assert.deepEqual(iso({ disk: { table: "mbr", filesystem: "btrfs" } }).disk, {
      table: "mbr",
      boot: "uefi",
      filesystem: "btrfs",
      root: "immutable",
    });
  });

  it("refuses unknown keys, on the output and in its disk", () => {
    const top = IsoOutput.safeParse({ type: "iso", persistance: true });
    assert.ok(!top.success);
    assert.ok(
      top.error.issues.some(
        (i) => i.code === "unrecognized_keys" && i.keys.includes("persistance"),
      ),
      JSON.stringify(top.error.issues),
    );
    const inDisk = IsoOutput.safeParse({ type: "iso", disk: { size: "4G" } });
    assert.ok(!inDisk.success);
    assert.deepEqual(inDisk.error.issues[0]?.path, ["disk"]);
  });

  it("refuses root: flat for the installed disk (it boots from the store)", () => {
    const r = IsoOutput.safeParse({ type: "iso", disk: { root: "flat" } });
    assert.ok(!r.success);
    assert.deepEqual(r.error.issues[0]?.path, ["disk", "root"]);
    for (const root of ["immutable", "persistent"]) {
      assert.ok(IsoOutput.safeParse({ type: "iso", disk: { root } }).success, root);
    }
  });

  it("refuses an empty or unknown firmware list", () => {
    assert.ok(!IsoOutput.safeParse({ type: "iso", firmware: [] }).success);
    assert.ok(!IsoOutput.safeParse({ type: "iso", firmware: ["coreboot"] }).success);
    assert.deepEqual(iso({ firmware: ["bios"] }).firmware, ["bios"]);
  });

  it("is an output of the recipe's union", () => {
    const r = Recipe.parse({
      name: "t",
      layers: [{ name: "base", bootstrap: {} }],
      outputs: [{ type: "iso", installer: true }],
    });
    assert.equal(r.outputs[0]?.type, "iso");
    assert.deepEqual(r.outputs[0], iso({ installer: true }));
  });
});

describe("isoFirmware", () => {
  it("boots UEFI and BIOS on amd64, UEFI only on arm64, by default", () => {
    assert.deepEqual(isoFirmware(iso(), "amd64"), ["uefi", "bios"]);
    assert.deepEqual(isoFirmware(iso(), "arm64"), ["uefi"]);
  });

  it("honours an explicit list, in its order", () => {
    assert.deepEqual(isoFirmware(iso({ firmware: ["uefi"] }), "amd64"), ["uefi"]);
    assert.deepEqual(isoFirmware(iso({ firmware: ["bios", "uefi"] }), "amd64"), ["bios", "uefi"]);
    assert.deepEqual(isoFirmware(iso({ firmware: ["uefi", "bios"] }), "arm64"), ["uefi", "bios"]);
  });
});

describe("installedDisk", () => {
  it("is a disk output with the ISO's disk settings, command line and consoles", () => {
    const d = installedDisk(
      iso({
        disk: { table: "mbr", boot: "bios", filesystem: "btrfs", root: "persistent" },
        cmdline: "quiet loglevel=3",
        console: ["ttyS1,9600"],
      }),
    );
    assert.equal(d.type, "disk");
    assert.equal(d.table, "mbr");
    assert.equal(d.boot, "bios");
    assert.equal(d.filesystem, "btrfs");
    assert.equal(d.root, "persistent");
    assert.equal(d.cmdline, "quiet loglevel=3");
    assert.deepEqual(d.console, ["ttyS1,9600"]);
    // The disk's own defaults for the keys an ISO does not have; the smallest size.
    assert.equal(d.esp_size, "256M");
    assert.equal(d.size, undefined);
  });

  it("passes the ESP's size through, and checks it as a disk's", () => {
    assert.equal(installedDisk(iso({ disk: { esp_size: "64M" } })).esp_size, "64M");
    assert.equal(installedDisk(iso()).esp_size, "256M");
    assert.ok(!IsoOutput.safeParse({ type: "iso", disk: { esp_size: "lots" } }).success);
  });

  it("takes the defaults: the disk a bare `type: disk` writes", () => {
    const d = installedDisk(iso());
    // (JSON: the ISO passes `console: undefined` on, which a bare disk leaves out.)
    assert.deepEqual(JSON.parse(JSON.stringify(d)), diskOutput.schema.parse({ type: "disk" }));
    assert.equal(d.console, undefined);
  });

  it("leaves out the ISO's own keys (name, layer, firmware, installer)", () => {
    const d = installedDisk(
      iso({ name: "media", layer: "app", firmware: ["uefi"], installer: true }),
    );
    assert.equal(d.name, undefined);
    assert.equal(d.layer, undefined);
    assert.ok(!("firmware" in d) && !("installer" in d), JSON.stringify(d));
  });
});

describe("iso boot menu", () => {
  const offset = 269484032;
  it("boots the medium's store at its offset, with the changes in RAM by default", () => {
    const entries = liveEntries(iso(), "amd64", offset, "kiosk");
    assert.equal(entries.length, 1);
    assert.equal(entries[0]?.title, "kiosk (strata, live)");
    assert.equal(
      entries[0]?.options,
      `boot=strata strata.version=1 strata.root=immutable strata.medium=LABEL=STRATA_ISO strata.medium.offset=${offset} console=tty0 console=ttyS0,115200`,
    );
  });

  it("with persistence, keeps the changes by default and offers them in RAM second", () => {
    const entries = liveEntries(iso({ persistence: true, cmdline: "quiet" }), "arm64", 1, "k");
    assert.deepEqual(
      entries.map((e) => e.title),
      ["k (strata, live, changes kept)", "k (strata, live, changes in RAM)"],
    );
    assert.match(
      entries[0]?.options ?? "",
      new RegExp(`strata\\.persistence=LABEL=${PERSISTENCE_LABEL} `),
    );
    assert.doesNotMatch(entries[1]?.options ?? "", /strata\.persistence/);
    for (const e of entries) assert.match(e.options, /console=ttyAMA0,115200 quiet$/);
    assert.ok(PERSISTENCE_LABEL.length <= 16, "an ext4 label has at most 16 bytes");
  });

  it("defaults to a hybrid ISO without persistence", () => {
    assert.equal(iso().hybrid, true);
    assert.equal(iso().persistence, false);
  });
});

describe("xorriso's command line", () => {
  const paths = { hybridMbr: "/s/boot_hybrid.img", tree: "/s/tree", iso: "/s/out.iso" };
  it("makes a hybrid ISO for both firmwares: El Torito entries, GRUB's MBR, the EFI partition", () => {
    const args = xorrisoArgs({ ...paths, firmware: ["uefi", "bios"], hybrid: true });
    assert.deepEqual(args.slice(0, 9), [
      "-as",
      "mkisofs",
      "-iso-level",
      "3",
      "-R",
      "-V",
      "STRATA_ISO",
      "-o",
      "/s/out.iso",
    ]);
    assert.equal(args.at(-1), "/s/tree");
    assert.equal(args[args.indexOf("-b") + 1], "boot/grub/eltorito.img");
    assert.equal(args[args.indexOf("--grub2-mbr") + 1], "/s/boot_hybrid.img");
    assert.equal(args[args.indexOf("--efi-boot") + 1], "boot/efi.img");
    assert.ok(args.includes("-efi-boot-part") && args.includes("--efi-boot-image"));
    assert.ok(!args.includes("--protective-msdos-label"), "GRUB's MBR is there");
  });

  it("gives a UEFI-only hybrid ISO a protective MBR, and a CD-only ISO no partition table", () => {
    const uefi = xorrisoArgs({ ...paths, firmware: ["uefi"], hybrid: true });
    assert.ok(uefi.includes("--protective-msdos-label"));
    assert.ok(!uefi.includes("-b") && !uefi.includes("--grub2-mbr"));
    const cd = xorrisoArgs({ ...paths, firmware: ["uefi", "bios"], hybrid: false });
    for (const flag of [
      "--grub2-mbr",
      "-efi-boot-part",
      "--efi-boot-image",
      "--protective-msdos-label",
    ]) {
      assert.ok(!cd.includes(flag), `${flag}: ${cd.join(" ")}`);
    }
    assert.ok(cd.includes("-b") && cd.includes("--efi-boot"), "both El Torito entries stay");
  });
});

describe("iso tools and file name", () => {
  it("needs xorriso and mtools, and the installed disk's own tools, each once", () => {
    const tools = isoOutput.tools(iso());
    for (const t of ["xorriso", "mkfsVfat", "mcopy", "mmd", "sfdisk", "mkfsExt4"] as const) {
      assert.ok(tools.includes(t), `${t}: ${tools.join(" ")}`);
    }
    assert.equal(new Set(tools).size, tools.length, tools.join(" "));
    for (const t of diskOutput.tools(installedDisk(iso()))) assert.ok(tools.includes(t), t);
    assert.equal(TOOLS.xorriso.command, "xorriso");
    assert.ok(!tools.includes("mkfsBtrfs"));
  });

  it("follows the disk's filesystem", () => {
    const tools = isoOutput.tools(iso({ disk: { boot: "bios", filesystem: "btrfs" } }));
    assert.ok(tools.includes("mkfsBtrfs"), tools.join(" "));
    assert.ok(!tools.includes("mkfsExt4"), tools.join(" "));
    // The ISO's EFI image needs mtools even when the installed disk boots with BIOS.
    for (const t of ["xorriso", "mkfsVfat", "mcopy", "mmd"] as const) assert.ok(tools.includes(t));
    assert.equal(new Set(tools).size, tools.length, tools.join(" "));
  });

  it("writes <name>.iso", () => {
    assert.equal(isoOutput.fileName(iso(), "kiosk"), "kiosk.iso");
    assert.equal(isoOutput.type, "iso");
    assert.equal(isoOutput.schema, IsoOutput);
  });
});

describe("iso verify", () => {
  it("passes an amd64 recipe with a kernel, with the defaults and with BIOS", () => {
    assert.deepEqual(problems(recipe("amd64", "  - { type: iso }\n")), []);
    const all =
      "  - { type: iso, installer: true, firmware: [uefi, bios], disk: { boot: bios } }\n";
    assert.deepEqual(problems(recipe("amd64", all)), []);
    assert.deepEqual(problems(recipe("arm64", "  - { type: iso, installer: true }\n")), []);
  });

  it("refuses BIOS firmware on arm64, at firmware", () => {
    const found = problems(recipe("arm64", "  - { type: iso, firmware: [uefi, bios] }\n"));
    assert.deepEqual(
      found.map((p) => p.path),
      ["outputs[0].firmware"],
      JSON.stringify(found),
    );
    assert.match(found[0]?.message ?? "", /BIOS/);
    assert.match(found[0]?.hint ?? "", /firmware: \[uefi\]/);
  });

  it("refuses a BIOS installed disk on arm64, at disk.boot", () => {
    const yaml = recipe("arm64", "  - { type: tar }\n  - { type: iso, disk: { boot: bios } }\n");
    const found = problems(yaml);
    assert.deepEqual(
      found.map((p) => p.path),
      ["outputs[1].disk.boot"],
      JSON.stringify(found),
    );
    assert.match(found[0]?.message ?? "", /bios is not supported on arm64/);
  });

  it("refuses persistence on a CD-only ISO, at persistence, and passes it on a hybrid one", () => {
    const found = problems(
      recipe("amd64", "  - { type: iso, hybrid: false, persistence: true }\n"),
    );
    assert.deepEqual(
      found.map((p) => p.path),
      ["outputs[0].persistence"],
      JSON.stringify(found),
    );
    assert.match(found[0]?.message ?? "", /CD-only ISO/);
    assert.match(found[0]?.hint ?? "", /hybrid: false/);
    assert.deepEqual(problems(recipe("amd64", "  - { type: iso, persistence: true }\n")), []);
    assert.deepEqual(problems(recipe("amd64", "  - { type: iso, hybrid: false }\n")), []);
  });

  it("refuses a stack without a kernel, at type", () => {
    const yaml = recipe("amd64", "  - { type: tar }\n  - { type: iso }\n", false);
    const found = problems(yaml);
    assert.deepEqual(
      found.map((p) => p.path),
      ["outputs[1].type"],
      JSON.stringify(found),
    );
    assert.match(found[0]?.message ?? "", /iso output boots a kernel.*\(base → app\)/);
    assert.equal(found[0]?.hint, "add linux-image-amd64 to the packages of one of these layers");
  });

  it("refuses updates on a BIOS btrfs installed disk, as for a disk output", () => {
    // The installed disk carries the update layer (assembleDisk gets the ISO's added layers),
    // and a BIOS trial boot is noted in grubenv, which GRUB cannot write on btrfs.
    const yaml = (output: string) => `name: t
layers:
  - name: base
    bootstrap: { variant: minbase, packages: [systemd, linux-image-amd64] }
update: { url: "http://updates.example/t", keyring: k.pub }
outputs:
${output}`;
    const load = (output: string) => {
      try {
        loadRecipe(writeRecipe(yaml(output), { "k.pub": "key" }));
        return [];
      } catch (e) {
        assert.ok(e instanceof StrataError, String(e));
        return e.problems;
      }
    };
    const disk = load("  - { type: disk, boot: bios, filesystem: btrfs }\n");
    assert.deepEqual(
      disk.map((p) => p.path),
      ["outputs[0].filesystem"],
    );
    assert.deepEqual(load("  - { type: iso, disk: { boot: bios } }\n"), []);
    const found = load("  - { type: iso, disk: { boot: bios, filesystem: btrfs } }\n");
    assert.equal(found.length, 1, JSON.stringify(found));
    assert.match(found[0]?.path ?? "", /^outputs\[0\]\.disk/);
    assert.match(found[0]?.message ?? "", /btrfs/);
  });

  it("refuses armhf once, at type", () => {
    const found = problems(recipe("armhf", "  - { type: iso }\n"));
    assert.deepEqual(
      found.map((p) => p.path),
      ["outputs[0].type"],
      JSON.stringify(found),
    );
    assert.match(found[0]?.message ?? "", /amd64 and arm64, not armhf/);
  });

  it("reports the plugin's problems relative to the output", () => {
    const parsed = Recipe.parse({
      name: "t",
      distro: { arch: "arm64" },
      layers: [{ name: "base", bootstrap: { packages: ["linux-image-arm64"] } }],
      outputs: [{ type: "iso", firmware: ["bios"], disk: { boot: "bios" } }],
    });
    const o = parsed.outputs[0] as IsoOutput;
    const found = isoOutput.verify?.(o, { recipe: parsed, index: 0 }) ?? [];
    assert.deepEqual(
      found.map((p) => p.path),
      [["firmware"], ["disk", "boot"]],
    );
  });
});
