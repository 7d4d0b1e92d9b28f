/** A disk output's own checks, run with the recipe's before anything is built. */
import type { SemanticProblem } from "../../recipe/verify.js";
import { MIB, parseSize } from "../../recipe/size.js";
import type { VerifyContext } from "../types.js";
import type { DiskOutput } from "./schema.js";

export function verifyDisk(output: DiskOutput, { recipe }: VerifyContext): SemanticProblem[] {
  const problems: SemanticProblem[] = [];
  const arch = recipe.distro.arch;
  if (arch === "armhf") {
    problems.push({
      path: ["type"],
      message: "disk images are made for amd64 and arm64; armhf is not supported yet",
      hint: "use `distro.arch: arm64`, or a `tar` output for armhf",
    });
  } else if (output.boot === "bios" && arch !== "amd64") {
    problems.push({
      path: ["boot"],
      message: `boot: bios is not supported on ${arch}`,
      hint: "use `boot: uefi` (systemd-boot); BIOS booting exists only on amd64 PCs",
    });
  }
  for (const key of ["size", "esp_size"] as const) {
    const value = output[key];
    if (value !== undefined && parseSize(value) < 16 * MIB) {
      problems.push({
        path: [key],
        message: `${key} ${value} is too small`,
        hint: "sizes are bytes unless they carry a unit: write 2G, 512M…",
      });
    }
  }
  return problems;
}
