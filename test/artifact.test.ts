// Artifact tests: buildArtifact's files (manifest inside the wasm, determinism, schema), writeArtifactFiles,
// and the custom-section encoding. Neighbours: compiler/artifact/*, test/artifact-loader.test.ts (NAME.js/.d.ts).

import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildArtifact, type BuildArtifactInput } from "../compiler/artifact/build.js";
import { appendCustomSection, appendCustomSections, bytesWithRoom, uleb128 } from "../compiler/artifact/sections.js";
import { validateManifest } from "../compiler/artifact/validate.js";
import { writeArtifactFiles } from "../compiler/artifact/write.js";
import { customSections, readArtifactSections } from "../runtime/index.js";
import { affineGraph, affineModule, WEIGHT } from "./runtime-fixture.js";


const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), "modelc-art-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const input = (over: Partial<BuildArtifactInput> = {}): BuildArtifactInput => ({
  name: "affine",
  graph: affineGraph(),
  simd: affineModule("simd", true),
  scalar: affineModule("scalar", true),
  compilerVersion: "0.1.0-test",
  flopsPerSample: 12,
  ops: 2,
  ...over,
});

describe("buildArtifact", () => {
  it("produces the file set with the manifest inside both wasm files", () => {
    const { manifest, files } = buildArtifact(input());
    expect([...files.keys()]).toEqual(["affine.wasm", "affine.nosimd.wasm", "affine.manifest.json", "affine.js", "affine.d.ts"]);
    expect(validateManifest(manifest)).toEqual([]);
    expect(manifest.modules).toEqual({ simd: "affine.wasm", scalar: "affine.nosimd.wasm" });
    expect(manifest.weights).toEqual({
      embedded: true,
      offset: 0,
      bytes: 16,
      sha256: createHash("sha256").update(new Uint8Array(WEIGHT.buffer)).digest("hex"),
      tensors: [{ name: "w", shape: [4], dtype: "f32", offset: 0 }],
    });
    expect(manifest.memory).toEqual({ activationBase: 64, bytesPerSample: 48, initialPages: 1 });
    expect(JSON.parse(files.get("affine.manifest.json") as string)).toEqual(manifest);
    for (const [file, variant] of [["affine.wasm", "simd"], ["affine.nosimd.wasm", "scalar"]] as const) {
      const bytes = files.get(file) as Uint8Array<ArrayBuffer>;
      expect(WebAssembly.validate(bytes)).toBe(true);
      expect(readArtifactSections(bytes)).toEqual({ manifest, variant });
      // the section is readable by the standard API too
      const sec = WebAssembly.Module.customSections(new WebAssembly.Module(bytes), "modelc.manifest");
      expect(JSON.parse(new TextDecoder().decode(sec[0]))).toEqual(manifest);
    }
  });

  it("is deterministic: the same input gives byte-identical files", () => {
    const a = buildArtifact(input()).files;
    const b = buildArtifact(input()).files;
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [k, v] of a) expect(b.get(k)).toEqual(v);
  });

  it('weights: "file" writes NAME.weights.bin and names it in the manifest', () => {
    const { manifest, files } = buildArtifact(input({ simd: affineModule("simd", false), scalar: affineModule("scalar", false), weights: "file" }));
    expect(manifest.weights.embedded).toBe(false);
    expect(manifest.weights.file).toBe("affine.weights.bin");
    expect(Array.from(new Float32Array((files.get("affine.weights.bin") as Uint8Array).slice().buffer))).toEqual([0.5, -1, 2, 10]);
    expect(validateManifest(manifest)).toEqual([]);
  });

  it("rejects bad names, no builds, mismatched builds and names that differ from the graph", () => {
    expect(() => buildArtifact(input({ name: "../x" }))).toThrow('name "../x" is not a valid file stem');
    expect(() => buildArtifact(input({ simd: undefined, scalar: undefined }))).toThrow("neither a SIMD nor a scalar build");
    const other = affineModule("scalar", true);
    other.memory = { ...other.memory, bytesPerSample: 64 };
    expect(() => buildArtifact(input({ scalar: other }))).toThrow("different I/O, memory or weight layouts");
    const g = affineGraph();
    g.outputs[0]!.name = "logits";
    expect(() => buildArtifact(input({ graph: g }))).toThrow("module outputs [y, z] differ from the graph's [logits, z]");
    const reused = input();
    reused.simd = { ...reused.simd!, wasm: buildArtifact(input()).files.get("affine.wasm") as Uint8Array };
    expect(() => buildArtifact(reused)).toThrow("already carries modelc custom sections");
  });
});

describe("custom sections and validateManifest", () => {
  it("uleb128 and appendCustomSection follow the wasm binary format", () => {
    expect(uleb128(0)).toEqual([0]);
    expect(uleb128(127)).toEqual([127]);
    expect(uleb128(128)).toEqual([0x80, 1]);
    expect(uleb128(624485)).toEqual([0xe5, 0x8e, 0x26]);
    const empty = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
    const out = appendCustomSection(empty, "ab", "xyz");
    expect(Array.from(out.subarray(8))).toEqual([0, 6, 2, 97, 98, 120, 121, 122]);
    const big = appendCustomSection(empty, "n", new Uint8Array(300));
    expect(customSections(big)).toEqual([{ name: "n", payload: new Uint8Array(300) }]);
    // several at once: the same bytes as one append per section
    const two = appendCustomSections(empty, [["ab", "xyz"], ["n", new Uint8Array(300)]]);
    expect(Array.from(two)).toEqual(Array.from(appendCustomSection(appendCustomSection(empty, "ab", "xyz"), "n", new Uint8Array(300))));
    expect(customSections(two).map((c) => c.name)).toEqual(["ab", "n"]);
  });

  it("appendCustomSections writes into a bytesWithRoom array's room, never over bytes handed out", () => {
    const head = [0, 97, 115, 109, 1, 0, 0, 0];
    const module = bytesWithRoom(8, 32);
    module.set(head);
    const sections: [string, string][] = [["ab", "xyz"], ["c", "12345"]];
    const expected = Array.from(appendCustomSections(new Uint8Array(head), sections));
    const first = appendCustomSections(module, sections);
    expect(Array.from(first)).toEqual(expected);
    expect(first.buffer).toBe(module.buffer); // written in place: no copy of the module
    expect(Array.from(module)).toEqual(head); // the module itself is unchanged
    // the room is taken: a second call on the same module copies (`first` keeps its bytes) ...
    const second = appendCustomSections(module, [["zz", "other"]]);
    expect(second.buffer).not.toBe(module.buffer);
    expect(customSections(second).map((c) => c.name)).toEqual(["zz"]);
    expect(Array.from(first)).toEqual(expected);
    // ... while a call on `first` (the end of the room's used part) continues in place, and one too big for the
    // room copies
    const third = appendCustomSections(first, [["d", "6"]]);
    expect(third.buffer).toBe(module.buffer);
    expect(customSections(third).map((c) => c.name)).toEqual(["ab", "c", "d"]);
    const big = appendCustomSections(third, [["e", new Uint8Array(64)]]);
    expect(big.buffer).not.toBe(module.buffer);
    expect(customSections(big).map((c) => c.name)).toEqual(["ab", "c", "d", "e"]);
    expect(customSections(third).map((c) => c.name)).toEqual(["ab", "c", "d"]);
  });

  it("validateManifest names the offending field", () => {
    const { manifest } = buildArtifact(input());
    expect(validateManifest({ ...manifest, formatVersion: 2 })).toEqual(["/formatVersion must be equal to constant"]);
    const bad = JSON.parse(JSON.stringify(manifest));
    bad.inputs[0].dtype = "f64";
    bad.weights.embedded = false;
    bad.extra = 1;
    const errs = validateManifest(bad);
    expect(errs).toContain("/inputs/0/dtype must be equal to one of the allowed values");
    expect(errs).toContain("/weights must have required property 'file'");
    expect(errs).toContain("/ must NOT have additional properties (extra)");
  });
});

describe("writeArtifactFiles", () => {
  it("creates the directory and leaves only the artifact files", async () => {
    const dir = join(tempDir(), "nested", "out");
    const { files } = buildArtifact(input());
    const paths = await writeArtifactFiles(dir, files);
    expect(paths).toEqual([...files.keys()].map((f) => join(dir, f)));
    expect(readdirSync(dir).sort()).toEqual([...files.keys()].sort());
    expect(new Uint8Array(readFileSync(join(dir, "affine.wasm")))).toEqual(files.get("affine.wasm"));
    expect(readFileSync(join(dir, "affine.d.ts"), "utf8")).toBe(files.get("affine.d.ts"));
    await expect(writeArtifactFiles(dir, new Map([["../evil", "x"]]))).rejects.toThrow("must not contain a path");
  });
});
