/**
 * `type: netboot`: a directory to serve over HTTP from `url`, from which machines boot into
 * RAM with no disk at all:
 *
 *   - { type: netboot, url: "http://${server}/kiosk" }      (`--set server=10.0.0.1:8080`)
 *
 *   <name>.netboot/
 *     boot.ipxe                  iPXE script: fetches the kernel and initramfs from `url`
 *     boot/<sha256>              the kernel and the initramfs (the boot layer's)
 *     layers/<sha256>.sqfs       the output's layer modules, as in a disk's store
 *     versions/1/manifest.json   the release manifest (src/update/manifest.ts)
 *     versions/1/manifest.json.sig   its signature, when the build has a key (`--key`)
 *     netboot.json               how `strata run --netboot` boots it; the RAM it needs
 *
 * The layout is an update repository's (`strata publish`): the same file names and manifest.
 * The initramfs (the strata boot script, `strata.fetch=URL`) brings the network up, fetches
 * the manifest and each layer into RAM, checks every sha256, and stacks them; changes live in
 * RAM. A recipe with `update:` puts its keyring into the initramfs too, which then boots only
 * a manifest with a good signature by it: the build signs it (`strata build --key`), and
 * refuses to start without the key. Keys: `url`, `cmdline`, `console` (as for disks). Serve it
 * with `strata serve` or any web server; `strata run --netboot` and `--pxe` boot it in QEMU.
 */
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileSha256 } from "../../cache/canonical.js";
import { RELEASE_FORMAT, type ReleaseManifest, serializeManifest } from "../../update/manifest.js";
import { consoles, FIRST_VERSION } from "../disk/cmdline.js";
import { placeFile } from "../disk/store.js";
import { kernelProblems } from "../kernel-check.js";
import { ramBootFiles, ramBootLayers, ramCmdline } from "../ram-boot.js";
import { replaceDirectory } from "../replace-dir.js";
import type { OutputInput, OutputPlugin } from "../types.js";
import { ipxeScript } from "./ipxe.js";
import { NetbootOutput } from "./schema.js";
import { NETBOOT_SIDECAR, NETBOOT_SIDECAR_FORMAT, type NetbootSidecar } from "./sidecar.js";

const MIB = 1024 * 1024;

/**
 * RAM a netboot needs: the layers in a tmpfs, the initramfs unpacked (about three times its
 * compressed size), and room for the system to run.
 */
export function netbootRamMiB(layerBytes: number, initrdBytes: number): number {
  const mib = Math.ceil(layerBytes / MIB) + Math.ceil((3 * initrdBytes) / MIB) + 256;
  return Math.ceil(mib / 64) * 64;
}

async function writeNetboot(input: OutputInput<NetbootOutput>): Promise<void> {
  const { output: o, env, scratch, name } = input;
  const arch = env.distro.arch;
  const files = await ramBootFiles("netboot output", input);
  const url = o.url.replace(/\/+$/, "");
  const version = FIRST_VERSION;
  const cmdline = ramCmdline(o, arch, [`strata.version=${version}`, `strata.fetch=${url}`], true);
  const vmlinuz = { digest: await fileSha256(files.vmlinuz), bytes: statSync(files.vmlinuz).size };
  const initrd = { digest: await fileSha256(files.initrd), bytes: statSync(files.initrd).size };
  const layers = input.stack.layers;
  const manifest: ReleaseManifest = {
    format: RELEASE_FORMAT,
    recipe: env.recipe.name,
    arch,
    version,
    root: "immutable",
    kernel: files.kernelVersion,
    cmdline,
    vmlinuz,
    initrd,
    layers: layers.map((l) => ({ name: l.name, digest: l.digest, bytes: l.bytes })),
  };

  env.reporter.status(`netboot ${name}: layers, kernel and initramfs`);
  const dir = join(scratch, "netboot");
  for (const sub of ["boot", "layers", `versions/${version}`]) {
    mkdirSync(join(dir, sub), { recursive: true });
  }
  // Hard links to the cache's modules where they share a filesystem (as a release does).
  for (const l of layers) placeFile(l.module, join(dir, "layers", `${l.digest}.sqfs`));
  placeFile(files.vmlinuz, join(dir, "boot", vmlinuz.digest));
  placeFile(files.initrd, join(dir, "boot", initrd.digest));
  const manifestFile = join(dir, "versions", String(version), "manifest.json");
  writeFileSync(manifestFile, serializeManifest(manifest));
  // The build has a key when the recipe has `update:` (src/build/signing.ts): its machines
  // then boot only this manifest, as its signature proves it.
  if (env.sign) await env.sign(manifestFile);

  const title = `${env.recipe.name} (strata version ${version})`;
  const paths = { vmlinuz: `boot/${vmlinuz.digest}`, initrd: `boot/${initrd.digest}` };
  writeFileSync(join(dir, "boot.ipxe"), ipxeScript({ url, title, ...paths, cmdline }));
  const layerBytes = layers.reduce((n, l) => n + l.bytes, 0);
  const sidecar: NetbootSidecar = {
    format: NETBOOT_SIDECAR_FORMAT,
    arch: arch as NetbootSidecar["arch"],
    recipe: env.recipe.name,
    url,
    ...paths,
    cmdline,
    console: (consoles(o, arch).at(-1) ?? "ttyS0").split(",")[0] as string,
    signed: env.sign !== undefined,
    layerBytes,
    ramMiB: netbootRamMiB(layerBytes, initrd.bytes),
  };
  writeFileSync(join(dir, NETBOOT_SIDECAR), `${JSON.stringify(sidecar, null, 2)}\n`);
  env.reporter.detail(
    `netboot ${name}: ${Math.ceil(layerBytes / MIB)} MiB of layers; machines need about ${sidecar.ramMiB} MiB of RAM`,
  );
  replaceDirectory(dir, input.target);
}

export const netbootOutput: OutputPlugin<NetbootOutput> = {
  type: "netboot",
  schema: NetbootOutput,
  tools: () => [],
  fileName: (_o, name) => `${name}.netboot`,
  verify: (o, { recipe }) => kernelProblems(recipe, o, "netboot output"),
  layers: (_o, ctx) => ramBootLayers("netboot output", ctx),
  write: writeNetboot,
};
