/**
 * What strata needs to boot an ISO image as a CD, read from `<name>.iso.json` beside it: the
 * architecture and the firmware it boots on (`--boot` picks one of them; the first by default).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { StrataError } from "../errors.js";
import { IsoSidecar } from "../outputs/iso/sidecar.js";
import type { Firmware, VmArch } from "./argv.js";

export interface IsoImage {
  path: string;
  arch: VmArch;
  boot: Firmware;
  sidecar: IsoSidecar;
}

export function isIsoPath(target: string): boolean {
  return /\.iso$/i.test(target);
}

export function readIsoImage(iso: string, overrides: { boot?: string } = {}): IsoImage {
  const path = resolve(iso);
  let sidecar: IsoSidecar;
  try {
    sidecar = IsoSidecar.parse(JSON.parse(readFileSync(`${path}.json`, "utf8")));
  } catch {
    throw new StrataError("E_USAGE", `${path}.json is missing or not a strata ISO description`, {
      hint: "boot an ISO built by a `type: iso` output (<out>/<name>.iso with its .iso.json)",
    });
  }
  const boot = (overrides.boot ?? sidecar.firmware[0]) as Firmware;
  if (boot === "rpi" || !sidecar.firmware.includes(boot)) {
    throw new StrataError("E_USAGE", `${path} does not boot with ${overrides.boot}`, {
      hint: `it boots with: ${sidecar.firmware.join(", ")}`,
    });
  }
  return { path, arch: sidecar.arch, boot, sidecar };
}
