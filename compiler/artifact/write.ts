// Writing artifact files to disk atomically, so readers never see half a model.
// Neighbours: artifact/build.ts produces the file map; io/atomic.ts does each write; cli/* calls this.

import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.js";

/**
 * Write each file as `dir/NAME` through io/atomic.ts (temp file in `dir` with the pid in its name,
 * fsync, rename over the target). Creates `dir` (recursively) when missing. Strings are UTF-8.
 * Returns the written paths in map order. Errors: a file name containing a path separator; the
 * file system's error (EACCES, ENOSPC, ...).
 */
export async function writeArtifactFiles(dir: string, files: ReadonlyMap<string, Uint8Array | string>): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, data] of files) {
    if (name.includes("/") || name.includes("\\") || name === "." || name === "..")
      throw new Error(`writeArtifactFiles: file name ${JSON.stringify(name)} must not contain a path`);
    const target = join(dir, name);
    await writeFileAtomic(target, data);
    written.push(target);
  }
  return written;
}
