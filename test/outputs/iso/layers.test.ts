/**
 * The layers an iso output adds to the plan (the installed disk's, the boot loaders', the
 * installer's) and where each sits; the boot loaders layer's GRUB images; the installer layer.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { BOOT_ROLE, bootLayer } from "../../../src/outputs/disk/boot-layer.js";
import { UPDATE_ROLE } from "../../../src/outputs/disk/update-layer.js";
import { installedDisk, isoOutput } from "../../../src/outputs/iso/index.js";
import {
  INSTALLER_ROLE,
  installerLayer,
  installerSteps,
} from "../../../src/outputs/iso/installer-layer.js";
import {
  ELTORITO,
  ISO_LABEL,
  LOADER_DIR,
  LOADERS_ROLE,
  loaderSteps,
  loadersLayer,
} from "../../../src/outputs/iso/loaders.js";
import { IsoOutput } from "../../../src/outputs/iso/schema.js";
import type { AddedLayer } from "../../../src/outputs/types.js";
import { type ResolvedLayer, resolveLayers, stackOf } from "../../../src/recipe/graph.js";
import { Recipe, type Step } from "../../../src/recipe/schema.js";
import { ROOT } from "../../helpers.js";
import { systemLayer } from "../fixtures.js";

const iso = (o: Record<string, unknown> = {}) => IsoOutput.parse({ type: "iso", ...o });

/** base → kern (the kernel) → app, and a recipe with or without `update`. */
function recipeOf(arch: "amd64" | "arm64", update: boolean): Recipe {
  return Recipe.parse({
    name: "kiosk",
    distro: { arch },
    layers: [
      { name: "base", bootstrap: { variant: "minbase", packages: ["systemd"] } },
      { name: "kern", packages: [`linux-image-${arch}`] },
      { name: "app", packages: ["vim"] },
    ],
    ...(update ? { update: { url: "http://updates.example/kiosk", keyring: "k.pub" } } : {}),
  });
}

function added(o: IsoOutput, arch: "amd64" | "arm64" = "amd64", update = false) {
  const recipe = recipeOf(arch, update);
  const stack = stackOf(resolveLayers(recipe, {}), "app");
  const layers = isoOutput.layers?.(o, { stack, arch, name: "kiosk", recipe }) ?? [];
  return { stack, layers, byRole: new Map(layers.map((a) => [a.role, a])) };
}

const roleOf = (byRole: Map<string, AddedLayer>, role: string): ResolvedLayer => {
  const a = byRole.get(role);
  assert.ok(a, `no ${role} layer`);
  return a.layer;
};

const packagesOf = (steps: readonly Step[]) => steps.flatMap((s) => s.packages ?? []);
const scriptOf = (steps: readonly Step[]) =>
  steps
    .flatMap((s) => (s.run ? [typeof s.run === "string" ? s.run : s.run.script] : []))
    .join("\n");

describe("iso layers", () => {
  it("adds the disk's boot layer and the boot loaders on the kernel's layer, no installer", () => {
    const { layers, byRole } = added(iso());
    assert.deepEqual(
      layers.map((a) => a.role),
      [BOOT_ROLE, LOADERS_ROLE],
    );
    assert.equal(BOOT_ROLE, "boot");
    assert.equal(LOADERS_ROLE, "iso-loaders");
    const boot = roleOf(byRole, BOOT_ROLE);
    const loaders = roleOf(byRole, LOADERS_ROLE);
    assert.equal(boot.parent, "kern");
    assert.equal(loaders.parent, "kern");
    assert.deepEqual(loaders.chain, ["base", "kern", "kern.iso-loaders-bios"]);
    assert.equal(loaders.name, "kern.iso-loaders-bios");
    assert.ok(!byRole.has(INSTALLER_ROLE));
  });

  it("has the disk output's own boot layer, with the installed disk's settings", () => {
    const o = iso({ disk: { boot: "bios", filesystem: "btrfs", root: "persistent" } });
    const { stack, byRole } = added(o);
    const kern = stack.find((l) => l.name === "kern") as ResolvedLayer;
    const boot = roleOf(byRole, BOOT_ROLE);
    assert.deepEqual(boot, bootLayer(kern, installedDisk(o)));
    assert.equal(boot.name, "kern.boot-bios-btrfs-store");
  });

  it("puts the installer on the output's top layer only with installer: true", () => {
    const { layers, byRole } = added(iso({ installer: true }));
    assert.deepEqual(
      layers.map((a) => a.role),
      [BOOT_ROLE, LOADERS_ROLE, INSTALLER_ROLE],
    );
    assert.equal(INSTALLER_ROLE, "installer");
    const installer = roleOf(byRole, INSTALLER_ROLE);
    assert.equal(installer.parent, "app");
    assert.equal(installer.name, "app.installer");
    assert.deepEqual(installer.chain, ["base", "kern", "app", "app.installer"]);
    assert.equal(roleOf(byRole, LOADERS_ROLE).parent, "kern");
    assert.ok(!added(iso({ installer: false })).byRole.has(INSTALLER_ROLE));
  });

  it("adds the update layer on the top layer when the recipe has update:", () => {
    const { layers, byRole } = added(iso({ installer: true }), "amd64", true);
    assert.deepEqual(layers.map((a) => a.role).sort(), [
      BOOT_ROLE,
      INSTALLER_ROLE,
      LOADERS_ROLE,
      UPDATE_ROLE,
    ]);
    const update = roleOf(byRole, UPDATE_ROLE);
    assert.equal(update.parent, "app");
    assert.equal(update.name, "app.update");
    assert.ok(!added(iso()).byRole.has(UPDATE_ROLE));
  });

  it("names the loaders layer by whether it makes BIOS images, per firmware and arch", () => {
    assert.equal(
      roleOf(added(iso({ firmware: ["uefi"] })).byRole, LOADERS_ROLE).name,
      "kern.iso-loaders",
    );
    assert.equal(
      roleOf(added(iso({ firmware: ["bios"] })).byRole, LOADERS_ROLE).name,
      "kern.iso-loaders-bios",
    );
    const arm = roleOf(added(iso(), "arm64").byRole, LOADERS_ROLE);
    assert.equal(arm.name, "kern.iso-loaders");
    assert.deepEqual(packagesOf(arm.spec.steps ?? []), ["grub-efi-arm64-bin"]);
  });

  it("sits on the bootstrap layer when it has the kernel, and on the top without one", () => {
    const recipe = Recipe.parse({
      name: "t",
      layers: [
        { name: "base", bootstrap: { packages: ["linux-image-amd64"] } },
        { name: "app", packages: ["vim"] },
      ],
    });
    const stack = stackOf(resolveLayers(recipe, {}), "app");
    const ctx = { stack, arch: "amd64", name: "t", recipe };
    const layers = isoOutput.layers?.(iso({ installer: true }), ctx) ?? [];
    assert.deepEqual(
      layers.map((a) => [a.role, a.layer.parent]),
      [
        [BOOT_ROLE, "base"],
        [LOADERS_ROLE, "base"],
        [INSTALLER_ROLE, "app"],
      ],
    );
    const none = Recipe.parse({
      ...recipe,
      layers: [{ name: "base", bootstrap: {} }, recipe.layers[1]],
    });
    const bare = stackOf(resolveLayers(none, {}), "app");
    const onTop = isoOutput.layers?.(iso(), { ...ctx, stack: bare, recipe: none }) ?? [];
    assert.deepEqual(
      onTop.map((a) => [a.role, a.layer.parent]),
      [
        [BOOT_ROLE, "app"],
        [LOADERS_ROLE, "app"],
      ],
    );
  });

  it("checks for a kernel below the boot layer before building it", () => {
    const { byRole } = added(iso());
    const boot = byRole.get(BOOT_ROLE);
    assert.ok(boot?.precondition);
    const kernel = { name: "linux-image-6.12.0-1-amd64", version: "6.12", arch: "amd64" };
    assert.doesNotThrow(() => boot.precondition?.([kernel]));
    assert.throws(
      () => boot.precondition?.([{ name: "bash", version: "5", arch: "amd64" }]),
      /no kernel/,
    );
  });
});

describe("iso boot loaders layer", () => {
  it("installs the EFI GRUB and, for BIOS, the PC GRUB of the arch", () => {
    assert.deepEqual(packagesOf(loaderSteps("amd64", true)), ["grub-efi-amd64-bin", "grub-pc-bin"]);
    assert.deepEqual(packagesOf(loaderSteps("amd64", false)), ["grub-efi-amd64-bin"]);
    assert.deepEqual(packagesOf(loaderSteps("arm64", false)), ["grub-efi-arm64-bin"]);
    assert.ok(loaderSteps("amd64", true)[0]?.packages, "the packages come first");
  });

  it("makes the EFI binary with grub-mkimage for the arch, and El Torito only for BIOS", () => {
    const amd = scriptOf(loaderSteps("amd64", true));
    assert.match(amd, /grub-mkimage -O x86_64-efi -d \/usr\/lib\/grub\/x86_64-efi /);
    assert.ok(amd.includes(`-o ${LOADER_DIR}/BOOTX64.EFI`), amd);
    assert.match(amd, /grub-mkimage -O i386-pc-eltorito -d \/usr\/lib\/grub\/i386-pc /);
    assert.ok(amd.includes(`-o ${ELTORITO}`), amd);
    assert.equal(ELTORITO, "/usr/lib/strata/iso/eltorito.img");
    const uefiOnly = scriptOf(loaderSteps("amd64", false));
    assert.match(uefiOnly, /-O x86_64-efi/);
    assert.doesNotMatch(uefiOnly, /i386-pc/);
    const arm = scriptOf(loaderSteps("arm64", false));
    assert.match(arm, /grub-mkimage -O arm64-efi -d \/usr\/lib\/grub\/arm64-efi /);
    assert.ok(arm.includes(`-o ${LOADER_DIR}/BOOTAA64.EFI`), arm);
    assert.doesNotMatch(arm, /x86_64|i386-pc/);
  });

  it("embeds a configuration that finds the medium by its label", () => {
    assert.equal(ISO_LABEL, "STRATA_ISO");
    const script = scriptOf(loaderSteps("amd64", true));
    assert.match(script, /search --no-floppy --label STRATA_ISO --set=root/);
    assert.match(script, /configfile \$prefix\/grub\.cfg/);
    // Both images are made with it.
    assert.equal(script.match(/-c \/tmp\/early\.cfg/g)?.length, 2);
    // The modules to read the ISO and find it by label are in both images.
    for (const line of script.split("\n").filter((l) => l.startsWith("grub-mkimage"))) {
      for (const m of ["iso9660", "search_label", "linux", "normal", "configfile"]) {
        assert.ok(line.split(" ").includes(m), `${m}: ${line}`);
      }
    }
  });

  it("sits on the given layer, named for its BIOS image", () => {
    const l = loadersLayer(systemLayer, "amd64", true);
    assert.equal(l.name, "system.iso-loaders-bios");
    assert.equal(l.parent, "system");
    assert.deepEqual(l.chain, ["base", "system", "system.iso-loaders-bios"]);
    assert.deepEqual(l.spec.steps, loaderSteps("amd64", true));
    assert.equal(l.steps.length, 2);
    assert.equal(loadersLayer(systemLayer, "arm64", false).name, "system.iso-loaders");
  });
});

describe("installer layer", () => {
  const steps = installerSteps();
  const writes = new Map(steps.flatMap((s) => (s.write ? [[s.write.path, s.write] as const] : [])));

  it("installs fdisk (sfdisk moves a GPT's backup header)", () => {
    assert.deepEqual(packagesOf(steps), ["fdisk"]);
    assert.ok(steps[0]?.packages, "the packages come first");
  });

  it("writes strata-install, executable, as the asset", () => {
    const agent = writes.get("/usr/sbin/strata-install");
    assert.ok(agent, [...writes.keys()].join(" "));
    assert.equal(agent.mode, "0755");
    const asset = readFileSync(join(ROOT, "assets/install/strata-install"), "utf8");
    assert.equal(agent.content, asset);
    assert.match(agent.content ?? "", /^#!\/bin\/sh\n/);
  });

  it("enables a unit that runs it only when the command line asks", () => {
    const unit = writes.get("/usr/lib/systemd/system/strata-install.service")?.content ?? "";
    assert.match(unit, /^ConditionKernelCommandLine=strata\.install$/m);
    assert.match(unit, /^ExecStart=\/usr\/sbin\/strata-install --from-cmdline$/m);
    assert.match(unit, /^Type=oneshot$/m);
    assert.match(unit, /^WantedBy=multi-user\.target$/m);
    assert.deepEqual(steps.at(-1), { services: { enable: ["strata-install.service"] } });
  });

  it("installs nothing else and runs no script", () => {
    assert.ok(
      steps.every((s) => !s.run && !s.remove),
      JSON.stringify(steps),
    );
    assert.equal(steps.length, 4);
  });

  it("sits on the given layer, named after it", () => {
    const l = installerLayer(systemLayer);
    assert.equal(l.name, "system.installer");
    assert.equal(l.parent, "system");
    assert.deepEqual(l.chain, ["base", "system", "system.installer"]);
    assert.deepEqual(l.spec.steps, installerSteps());
    assert.equal(l.steps.length, installerSteps().length);
  });
});
