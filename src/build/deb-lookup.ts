/**
 * What the package lists say a cached .deb must be: its SHA-256, asked of the host's own apt
 * (a trusted binary, unlike the apt inside a layer, which a `run` step may have replaced)
 * reading the build's shared lists with the build's sources. None of the host's own sources,
 * status or preferences take part; apt's parsed source cache for these lists is kept beside
 * them, apart from the one the layers' apt keeps (another apt version, another format).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../host/run.js";
import { type Settings, sourcesLines } from "./context.js";
import { debSpec, type ExpectedDeb, parsePrintUris } from "./deb-cache.js";

/** apt options that make the host's apt read only the build's lists. */
export function lookupOptions(settings: Settings, scratch: string): string[] {
  const o = (k: string, v: string) => ["-o", `${k}=${v}`];
  return [
    "-qq",
    ...o("Dir::State::Lists", settings.aptLists),
    ...o("Dir::Etc::SourceList", join(scratch, "sources.list")),
    ...o("Dir::Etc::SourceParts", join(scratch, "none")),
    ...o("Dir::Etc::Preferences", join(scratch, "none")),
    ...o("Dir::Etc::PreferencesParts", join(scratch, "none")),
    ...o("Dir::State::Status", join(scratch, "status")),
    ...o("Dir::Cache", scratch),
    ...o("Dir::Cache::pkgcache", ""),
    ...o("Dir::Cache::srcpkgcache", join(settings.aptLists, "strata-host-srcpkgcache.bin")),
    ...o("APT::Architecture", settings.distro.arch),
    ...o("APT::Architectures", settings.distro.arch),
    ...o("Acquire::Languages", "none"),
  ];
}

/** The lists' SHA-256 of each cache file named; files they do not know are left out. */
export async function lookupDebs(
  settings: Settings,
  names: readonly string[],
): Promise<Map<string, ExpectedDeb>> {
  const specs = names.map(debSpec).filter((s) => s !== undefined);
  if (specs.length === 0) return new Map();
  const scratch = mkdtempSync(join(tmpdir(), "strata-lookup-"));
  try {
    writeFileSync(join(scratch, "sources.list"), `${sourcesLines(settings.distro).join("\n")}\n`);
    writeFileSync(join(scratch, "status"), "");
    // apt-get download names what it knows and complains about the rest (exit 100).
    const r = await run(
      "apt-get",
      [...lookupOptions(settings, scratch), "download", "--print-uris", ...specs],
      { reject: false, cwd: scratch },
    );
    return parsePrintUris(r.stdout);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
