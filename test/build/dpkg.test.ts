import assert from "node:assert/strict";
import { it } from "node:test";
import { diffPackages, parseDpkgStatus } from "../../src/build/dpkg.js";

const STATUS = `Package: zlib1g
Status: install ok installed
Architecture: amd64
Version: 1:1.3.dfsg-3

Package: gone
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: bash
Status: install ok installed
Architecture: amd64
Version: 5.2.37-2
`;

it("reads installed packages and diffs two sets", () => {
  const before = parseDpkgStatus(STATUS);
  assert.deepEqual(
    before.map((p) => p.name),
    ["bash", "zlib1g"],
  );
  const after = [
    { name: "bash", version: "5.2.37-3", arch: "amd64" },
    { name: "iproute2", version: "6.15.0-1", arch: "amd64" },
  ];
  const d = diffPackages(before, after);
  assert.deepEqual(
    d.added.map((p) => p.name),
    ["iproute2"],
  );
  assert.deepEqual(
    d.removed.map((p) => p.name),
    ["zlib1g"],
  );
  assert.deepEqual(d.changed, [
    { name: "bash", version: "5.2.37-3", arch: "amd64", from: "5.2.37-2" },
  ]);
});
