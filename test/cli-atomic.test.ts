// Tests of io/atomic.ts (used by every file the CLI writes): no temp files left, never partial.

import { mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync, mkdirSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { writeFileAtomic } from "../compiler/io/atomic.js";

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "modelc-atomic-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("writeFileAtomic", () => {
  it("writes bytes and strings, replaces existing files, leaves no temp files", async () => {
    const d = tmp();
    const p = join(d, "a.bin");
    await writeFileAtomic(p, new Uint8Array([1, 2, 3]));
    expect([...readFileSync(p)]).toEqual([1, 2, 3]);
    writeFileSync(join(d, "b.txt"), "old contents that are longer");
    await writeFileAtomic(join(d, "b.txt"), "new ✓");
    expect(readFileSync(join(d, "b.txt"), "utf8")).toBe("new ✓");
    expect(readdirSync(d).sort()).toEqual(["a.bin", "b.txt"]);
  });

  it("concurrent writers: the file is always one complete version", async () => {
    const d = tmp();
    const p = join(d, "x.bin");
    const versions = [0, 1, 2, 3, 4, 5, 6, 7].map((k) => new Uint8Array(1 << 16).fill(k));
    await Promise.all(versions.map((v) => writeFileAtomic(p, v)));
    const got = readFileSync(p);
    expect(got.length).toBe(1 << 16);
    expect(got.every((b) => b === got[0])).toBe(true);
    expect(readdirSync(d)).toEqual(["x.bin"]);
  });

  it("on failure rethrows, keeps the old file and removes the temp", async () => {
    const d = tmp();
    await expect(writeFileAtomic(join(d, "missing-dir", "f"), "x")).rejects.toThrow(/ENOENT/);
    // target is a non-empty directory: the rename fails after the temp was written
    const target = join(d, "target");
    mkdirSync(target);
    writeFileSync(join(target, "keep"), "1");
    await expect(writeFileAtomic(target, "data")).rejects.toThrow();
    expect(readdirSync(d)).toEqual(["target"]);
    expect(readFileSync(join(target, "keep"), "utf8")).toBe("1");
  });

  it("refuses a read-only directory without leaving anything", async () => {
    if (process.getuid?.() === 0) return; // root ignores permission bits
    const d = tmp();
    chmodSync(d, 0o500);
    await expect(writeFileAtomic(join(d, "f"), "x")).rejects.toThrow(/EACCES/);
    chmodSync(d, 0o700);
    expect(readdirSync(d)).toEqual([]);
  });
});
