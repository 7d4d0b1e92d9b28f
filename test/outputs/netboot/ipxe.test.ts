/** The netboot directory's iPXE script, and pointing a command line at another server. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ipxeScript, withFetchUrl } from "../../../src/outputs/netboot/ipxe.js";

const input = {
  url: "http://10.0.0.1:8080/kiosk",
  title: "kiosk (strata version 1)",
  vmlinuz: "boot/aaaa",
  initrd: "boot/bbbb",
  cmdline: "boot=strata strata.fetch=http://10.0.0.1:8080/kiosk console=ttyS0,115200",
};

describe("ipxeScript", () => {
  const lines = ipxeScript(input).split("\n");

  it("is an iPXE script that configures the network only when it has not been", () => {
    assert.equal(lines[0], "#!ipxe");
    assert.ok(lines.includes("isset ${ip} || dhcp"), lines.join("\n"));
    assert.ok(lines.some((l) => l.startsWith("#") && l.includes(input.title)));
  });

  it("fetches the kernel and the initramfs from the url, with the command line", () => {
    const kernel = lines.filter((l) => l.startsWith("kernel "));
    assert.deepEqual(kernel, [
      "kernel http://10.0.0.1:8080/kiosk/boot/aaaa initrd=initrd.img " + input.cmdline,
    ]);
    const initrd = lines.filter((l) => l.startsWith("initrd "));
    assert.deepEqual(initrd, ["initrd --name initrd.img http://10.0.0.1:8080/kiosk/boot/bbbb"]);
  });

  it("ends with boot, after the kernel and initramfs", () => {
    const body = lines.filter((l) => l !== "");
    assert.equal(body.at(-1), "boot");
    assert.ok(lines.findIndex((l) => l.startsWith("kernel ")) < lines.indexOf("boot"));
    assert.ok(lines.findIndex((l) => l.startsWith("initrd ")) < lines.indexOf("boot"));
    assert.equal(lines.filter((l) => l === "boot").length, 1);
  });

  it("follows its input", () => {
    const other = ipxeScript({ ...input, url: "http://h/x", vmlinuz: "k", initrd: "i" });
    assert.match(other, /^kernel http:\/\/h\/x\/k initrd=initrd\.img /m);
    assert.match(other, /^initrd --name initrd\.img http:\/\/h\/x\/i$/m);
    assert.doesNotMatch(other, /aaaa|bbbb|10\.0\.0\.1:8080\/kiosk\/boot/);
  });
});

describe("withFetchUrl", () => {
  const url = "http://10.0.2.2:4321";

  it("replaces the strata.fetch= value in the middle of a command line", () => {
    assert.equal(
      withFetchUrl("boot=strata strata.fetch=http://a/b strata.root=immutable", url),
      "boot=strata strata.fetch=http://10.0.2.2:4321 strata.root=immutable",
    );
  });

  it("replaces it at the start and at the end of a command line", () => {
    assert.equal(
      withFetchUrl("strata.fetch=http://a/b quiet", url),
      "strata.fetch=http://10.0.2.2:4321 quiet",
    );
    assert.equal(
      withFetchUrl("quiet strata.fetch=http://a/b", url),
      "quiet strata.fetch=http://10.0.2.2:4321",
    );
  });

  it("leaves a command line without strata.fetch= unchanged", () => {
    const cmdline = "boot=strata strata.live=auto console=ttyS0";
    assert.equal(withFetchUrl(cmdline, url), cmdline);
    // A parameter that only ends in strata.fetch= is not it.
    assert.equal(withFetchUrl("xstrata.fetch=http://a quiet", url), "xstrata.fetch=http://a quiet");
  });
});
