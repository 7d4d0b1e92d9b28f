/**
 * Content digest of a file or a directory tree that a `copy` step brings into a layer: every
 * entry's relative path, type, permission bits, link target and content. A change to any of
 * them changes the layer's cache key; timestamps do not. The root is followed when it is a
 * symbolic link (what a copy takes is its target's content); links inside the tree are hashed
 * as their target text, as they are copied as links. Other kinds of entry (FIFOs, sockets,
 * devices; a copy refuses them) are hashed by name and mode, and never opened.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, readdir, readlink, stat } from "node:fs/promises";
import { join } from "node:path";

async function hashFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export async function filesDigest(root: string): Promise<string> {
  const hash = createHash("sha256");
  const walk = async (path: string, rel: string): Promise<void> => {
    const st = rel === "" ? await stat(path) : await lstat(path);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isSymbolicLink()) hash.update(`l ${rel} ${await readlink(path)}\n`);
    else if (st.isFile()) hash.update(`f ${rel} ${mode} ${await hashFile(path)}\n`);
    else if (st.isDirectory()) {
      hash.update(`d ${rel} ${mode}\n`);
      const names = (await readdir(path)).sort();
      for (const name of names) await walk(join(path, name), rel ? `${rel}/${name}` : name);
    } else hash.update(`o ${rel} ${mode}\n`);
  };
  await walk(root, "");
  return hash.digest("hex");
}
