// Writing artifact files to disk atomically (temp file + rename), so readers never see half a model.
// Neighbours: artifact/build.ts produces the file map; cli/main.ts calls this.

import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * Write each file as `dir/NAME`: first to `dir/NAME.tmp-<pid>`, then rename over the target (atomic on
 * one file system). Creates `dir` (recursively) when missing. Strings are written as UTF-8.
 * Returns the written paths in map order. Rejects with the file system's error.
 */
export async function writeArtifactFiles(dir: string, files: ReadonlyMap<string, Uint8Array | string>): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, data] of files) {
    if (name.includes("/") || name.includes("\\") || name === "." || name === "..")
      throw new Error(`writeArtifactFiles: file name ${JSON.stringify(name)} must not contain a path`);
    const target = join(dir, name);
    const tmp = `${target}.tmp-${process.pid}`;
    await writeFile(tmp, data);
    await rename(tmp, target);
    written.push(target);
  }
  return written;
}
