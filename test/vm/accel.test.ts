/**
 * Choosing KVM or TCG: STRATA_ACCEL parsing and the decisions that need no probe (pure), and
 * one real probe with qemu-system-x86_64 that must answer kvm or tcg and leave no QEMU behind.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { StrataError } from "../../src/errors.js";
import { which } from "../../src/host/tools.js";
import { chooseAccel, parseAccelSetting, presetAccel, probeKvm } from "../../src/vm/accel.js";
import { processesWith } from "./fake.js";

describe("STRATA_ACCEL", () => {
  it("accepts kvm, tcg and auto, in any case; unset or empty is auto", () => {
    assert.equal(parseAccelSetting("kvm"), "kvm");
    assert.equal(parseAccelSetting(" TCG "), "tcg");
    assert.equal(parseAccelSetting("auto"), "auto");
    assert.equal(parseAccelSetting(""), "auto");
    assert.equal(parseAccelSetting(undefined), "auto");
  });

  it("rejects anything else with a hint", () => {
    assert.throws(
      () => parseAccelSetting("hvf"),
      (e: StrataError) =>
        e.code === "E_USAGE" &&
        /STRATA_ACCEL=hvf/.test(e.message) &&
        /kvm or tcg/.test(e.hint ?? ""),
    );
  });
});

describe("presetAccel", () => {
  it("uses TCG when told to, without probing", () => {
    assert.deepEqual(presetAccel("amd64", "tcg", "amd64", undefined), {
      accel: "tcg",
      reason: "STRATA_ACCEL=tcg",
    });
  });

  it("trusts STRATA_ACCEL=kvm for the host's own architecture", () => {
    assert.equal(presetAccel("amd64", "kvm", "amd64", "/dev/kvm does not exist")?.accel, "kvm");
  });

  it("always emulates a foreign architecture, and refuses KVM for it", () => {
    const choice = presetAccel("arm64", "auto", "amd64", undefined);
    assert.equal(choice?.accel, "tcg");
    assert.match(choice?.reason ?? "", /arm64 guest on a amd64 host/);
    assert.throws(
      () => presetAccel("arm64", "kvm", "amd64", undefined),
      (e: StrataError) => e.code === "E_USAGE" && /cannot run an arm64 guest/.test(e.message),
    );
  });

  it("falls back to TCG when /dev/kvm is missing or closed, saying why", () => {
    assert.deepEqual(presetAccel("amd64", "auto", "amd64", "/dev/kvm does not exist"), {
      accel: "tcg",
      reason: "/dev/kvm does not exist",
    });
  });

  it("leaves the rest to the probe", () => {
    assert.equal(presetAccel("amd64", "auto", "amd64", undefined), undefined);
  });
});

describe("chooseAccel", () => {
  it("follows STRATA_ACCEL from the environment it is given", async () => {
    assert.deepEqual(await chooseAccel("amd64", { STRATA_ACCEL: "tcg" }), {
      accel: "tcg",
      reason: "STRATA_ACCEL=tcg",
    });
    await assert.rejects(chooseAccel("amd64", { STRATA_ACCEL: "fast" }), /STRATA_ACCEL=fast/);
  });
});

const haveQemu = which("qemu-system-x86_64") !== undefined && process.arch === "x64";

describe("probeKvm (real QEMU)", { skip: !haveQemu && "needs qemu-system-x86_64 on amd64" }, () => {
  it("answers kvm or tcg with a reason and leaves no QEMU running", async () => {
    const choice = await probeKvm("amd64", 4000);
    assert.ok(choice.accel === "kvm" || choice.accel === "tcg", JSON.stringify(choice));
    assert.notEqual(choice.reason, "");
    assert.deepEqual(processesWith("strata-kvm-probe"), []);
  });
});
