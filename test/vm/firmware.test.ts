/** Locating UEFI firmware, copying its vars, and the error that names the package. */
import assert from "node:assert/strict";
import { readFileSync, rmSync, statSync } from "node:fs";
import { after, it } from "node:test";
import type { StrataError } from "../../src/errors.js";
import {
  type FirmwareTable,
  findFirmware,
  firmwareChecks,
  prepareFirmware,
  requireFirmware,
} from "../../src/vm/firmware.js";
import { tempDir } from "../helpers.js";

const dir = tempDir("strata-fw-test-");
after(() => rmSync(dir, { recursive: true, force: true }));

const nowhere: FirmwareTable = {
  amd64: { package: "ovmf", code: ["/nonexistent/CODE.fd"], vars: ["/nonexistent/VARS.fd"] },
  arm64: { package: "qemu-efi-aarch64", code: ["/nonexistent/A.fd"], vars: ["/nonexistent/B.fd"] },
};

it("names the package when the firmware is missing", () => {
  assert.equal(findFirmware("amd64", nowhere), undefined);
  assert.throws(
    () => requireFirmware("arm64", nowhere),
    (e: StrataError) =>
      e.code === "E_TOOL_MISSING" &&
      /no UEFI firmware for arm64/.test(e.message) &&
      /package qemu-efi-aarch64/.test(e.message) &&
      e.hint === "apt-get install qemu-efi-aarch64",
  );
});

it("takes the first pair that exists", () => {
  const table: FirmwareTable = {
    ...nowhere,
    amd64: {
      package: "ovmf",
      code: ["/nonexistent/CODE.fd", "/etc/hostname"],
      vars: ["/etc/hostname"],
    },
  };
  assert.deepEqual(findFirmware("amd64", table), {
    code: "/etc/hostname",
    vars: "/etc/hostname",
    package: "ovmf",
  });
});

const ovmf = findFirmware("amd64");
it(
  "copies the vars file, so a boot never writes the host's template",
  { skip: !ovmf && "no OVMF" },
  () => {
    const files = prepareFirmware("amd64", dir);
    assert.equal(files.code, ovmf?.code);
    assert.notEqual(files.vars, ovmf?.vars);
    assert.ok(files.vars.startsWith(dir));
    assert.equal(statSync(files.vars).size, statSync(ovmf?.vars as string).size);
    assert.ok(readFileSync(files.vars).equals(readFileSync(ovmf?.vars as string)));
  },
);

it("tells strata doctor what is missing: OVMF is needed, AAVMF optional", () => {
  assert.deepEqual(
    firmwareChecks(nowhere).map((c) => [c.name, c.ok, c.optional, c.fix]),
    [
      ["firmware: ovmf", false, false, "apt-get install ovmf"],
      ["firmware: qemu-efi-aarch64", false, true, "apt-get install qemu-efi-aarch64"],
    ],
  );
  assert.match(firmwareChecks(nowhere)[0]?.detail ?? "", /boots amd64 UEFI images/);
});
