/**
 * Puts a disk image together from its partitions' image files: a sparse file of the full
 * size, the partition table written by sfdisk, each partition copied to its offset with holes
 * kept (dd conv=sparse), GRUB's boot code for BIOS images, then the `.bmap` (bmaptool) and the
 * `.img.json` that says how to boot it. Written beside the target and renamed into place, so
 * an interrupted build never leaves a half-written image under the final name.
 */
import {
  closeSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { run } from "../../host/run.js";
import type { DiskSidecar } from "./sidecar.js";
import { embedGrub } from "./grub.js";
import { type Layout, MIB, type Partition, SECTOR, sfdiskScript } from "./layout.js";

export interface GrubImages {
  /** Sector of the core image */
  sector: number;
  /** Bytes the core image may take there */
  room: number;
  bootImg: Buffer;
  coreImg: Buffer;
}

/** Moves a file into place, copying (sparse) when the rename crosses filesystems. */
export async function moveFile(from: string, to: string): Promise<void> {
  try {
    renameSync(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EXDEV") throw e;
    await run("cp", ["--sparse=always", from, `${to}.tmp`]);
    renameSync(`${to}.tmp`, to);
    rmSync(from, { force: true });
  }
}

function writeGrub(image: string, grub: GrubImages): void {
  const fd = openSync(image, "r+");
  try {
    const mbr = Buffer.alloc(SECTOR);
    readSync(fd, mbr, 0, SECTOR, 0);
    const core = embedGrub(mbr, grub.bootImg, grub.coreImg, grub.sector, grub.room);
    writeSync(fd, mbr, 0, SECTOR, 0);
    writeSync(fd, core, 0, core.length, grub.sector * SECTOR);
  } finally {
    closeSync(fd);
  }
}

export async function writeImage(options: {
  plan: Layout;
  images: { partition: Partition; file: string }[];
  grub?: GrubImages;
  target: string;
  scratch: string;
  sidecar: DiskSidecar;
}): Promise<void> {
  const { plan, target } = options;
  const image = `${options.scratch}/disk.img`;
  rmSync(image, { force: true });
  await run("truncate", ["-s", String(plan.bytes), image]);
  await run("sfdisk", ["-q", "--no-reread", "--no-tell-kernel", image], {
    input: sfdiskScript(plan),
  });
  for (const { partition, file } of options.images) {
    if ((partition.start * SECTOR) % MIB !== 0) throw new Error("partitions start on a MiB");
    await run("dd", [
      `if=${file}`,
      `of=${image}`,
      "bs=1M",
      `seek=${(partition.start * SECTOR) / MIB}`,
      "conv=notrunc,sparse",
      "status=none",
    ]);
    rmSync(file, { force: true });
  }
  if (options.grub) writeGrub(image, options.grub);
  await run("bmaptool", ["-q", "create", "-o", `${image}.bmap`, image]);
  writeFileSync(`${image}.json`, `${JSON.stringify(options.sidecar, null, 2)}\n`);
  await moveFile(`${image}.bmap`, `${target}.bmap`);
  await moveFile(`${image}.json`, `${target}.json`);
  await moveFile(image, target);
}
