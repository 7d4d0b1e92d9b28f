/**
 * What strata needs to know to boot a disk image, read from the sidecar the disk output writes
 * beside it (`<name>.img.json`, format `strata-disk/1`): architecture, firmware, partition
 * table, console. `--arch`/`--boot` override it, and are required for an image without one.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { StrataError } from "../errors.js";
import { DISK_SIDECAR_FORMAT, DiskSidecar } from "../outputs/disk/sidecar.js";
import type { Board } from "../outputs/disk/schema.js";
import type { Firmware, VmArch } from "./argv.js";

export interface DiskImage {
  /** Absolute path of the raw image. */
  path: string;
  arch: VmArch;
  boot: Firmware;
  /** boot: rpi: which Raspberry Pi */
  board?: Board;
  table?: "gpt" | "mbr";
  filesystem?: string;
  root?: string;
  /** The guest's serial console device (ttyS0, ttyAMA0). */
  console?: string;
  /** The sidecar's path, when there was one. */
  sidecar?: string;
}

export interface ImageOverrides {
  arch?: string;
  boot?: string;
}

export function sidecarPath(image: string): string {
  return `${image}.json`;
}

function checkOverrides(o: ImageOverrides): { arch?: VmArch; boot?: Firmware } {
  if (o.arch !== undefined && o.arch !== "amd64" && o.arch !== "arm64") {
    throw new StrataError("E_USAGE", `--arch ${o.arch}: strata boots amd64 and arm64`, {
      hint: "--arch amd64 or --arch arm64",
    });
  }
  if (o.boot !== undefined && o.boot !== "uefi" && o.boot !== "bios") {
    throw new StrataError("E_USAGE", `--boot ${o.boot}: not uefi or bios`, {
      hint: "--boot uefi or --boot bios",
    });
  }
  return { arch: o.arch as VmArch | undefined, boot: o.boot as Firmware | undefined };
}

/** Reads `<image>.json`; `overrides` win over it and stand in for a missing one. */
export function readDiskImage(image: string, overrides: ImageOverrides = {}): DiskImage {
  const path = resolve(image);
  const o = checkOverrides(overrides);
  const file = sidecarPath(path);
  let text: string | undefined;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    text = undefined;
  }
  if (text === undefined) {
    if (o.arch && o.boot) return { path, arch: o.arch, boot: o.boot };
    throw new StrataError(
      "E_USAGE",
      `${file} is missing, so the image's architecture and firmware are unknown`,
      {
        hint: "pass --arch amd64|arm64 and --boot uefi|bios, or boot an image built by strata",
      },
    );
  }
  let parsed: DiskSidecar;
  try {
    parsed = DiskSidecar.parse(JSON.parse(text));
  } catch (e) {
    throw new StrataError(
      "E_USAGE",
      `${file} is not a ${DISK_SIDECAR_FORMAT} description: ${(e as Error).message.split("\n")[0]}`,
      { hint: "rebuild the image with this strata, or pass --arch and --boot" },
    );
  }
  return {
    path,
    arch: o.arch ?? parsed.arch,
    boot: o.boot ?? parsed.boot,
    board: parsed.board,
    table: parsed.table,
    filesystem: parsed.filesystem,
    root: parsed.root,
    console: parsed.console,
    sidecar: file,
  };
}
