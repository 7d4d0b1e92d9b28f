/** A disk output's own checks, run with the recipe's before anything is built. */
import type { SemanticProblem } from "../../recipe/verify.js";
import { MIB, parseSize } from "../../recipe/size.js";
import type { VerifyContext } from "../types.js";
import type { Recipe } from "../../recipe/schema.js";
import { BOARD_INFO } from "./board.js";
import type { DiskOutput } from "./schema.js";

/** `board` and `config`: an arm64 recipe whose mirror components carry the Pi's firmware. */
function boardProblems(output: DiskOutput, recipe: Recipe): SemanticProblem[] {
  const problems: SemanticProblem[] = [];
  if (!output.board) {
    if (output.config.length > 0) {
      problems.push({
        path: ["config"],
        message: "config lines go into a Raspberry Pi's config.txt, and this disk has no `board`",
        hint: "add `board: rpi3`, `rpi4` or `rpi5`, or remove `config`",
      });
    }
    return problems;
  }
  const title = BOARD_INFO[output.board].title;
  if (recipe.distro.arch !== "arm64") {
    problems.push({
      path: ["board"],
      message: `board: ${output.board} needs distro.arch arm64, not ${recipe.distro.arch}`,
      hint: `set \`distro: { arch: arm64 }\`: strata makes 64-bit images for the ${title}`,
    });
  }
  if (output.boot === "bios") {
    problems.push({
      path: ["boot"],
      message: `a ${title} boots from its own firmware, not BIOS`,
      hint: "remove `boot`: with `board`, the Pi's firmware boots the image",
    });
  }
  if (!recipe.distro.components.includes("non-free-firmware")) {
    problems.push({
      path: ["board"],
      message: `the ${title}'s firmware (Debian's raspi-firmware) is in the non-free-firmware component, which distro.components (${recipe.distro.components.join(", ")}) lacks`,
      hint: "set `distro: { components: [main, non-free-firmware] }`",
    });
  }
  return problems;
}

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
  problems.push(...boardProblems(output, recipe));
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
