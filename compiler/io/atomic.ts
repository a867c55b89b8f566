// Atomic file writes: every file modelc writes (artifacts, .npy outputs, SVGs) goes through here,
// so a crash or a full disk never leaves a half-written file. Neighbours: cli/*, artifact/build.ts.

import { randomBytes } from "node:crypto";
import { open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Write `data` to `path` atomically: write a temp file `.NAME.PID.RANDOM.tmp` in the same
 * directory (so the rename stays on one file system), fsync it, rename it over `path`, then
 * fsync the directory (best effort; not possible on every platform). Readers see either the old
 * file or the complete new one, never a partial one. Strings are written as UTF-8.
 * Errors: the underlying fs error (ENOENT when the directory is missing, EACCES, ENOSPC, ...)
 * is rethrown after the temp file is removed.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, options: { mode?: number } = {}): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  let created = false;
  try {
    const fh = await open(tmp, "wx", options.mode ?? 0o644);
    created = true;
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    created = false;
  } catch (e) {
    if (created) await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await syncDir(dir);
}

async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Directories cannot be opened/fsynced on some platforms (Windows); the rename is still atomic.
  }
}
