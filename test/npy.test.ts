// Tests of data/npy.ts against files written by numpy (test/fixtures/weights/npy, from gen.py).

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readNpy, writeNpy } from "../compiler/data/npy.js";

const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`./fixtures/weights/npy/${name}`, import.meta.url)));

describe("readNpy on numpy-written files", () => {
  it("reads every supported dtype with exact values", () => {
    expect(readNpy(fixture("f4.npy"))).toEqual({ dtype: "f4", shape: [2, 3], data: new Float32Array([0, 0.25, 0.5, 0.75, 1, 1.25]) });
    expect(readNpy(fixture("f8.npy"))).toEqual({ dtype: "f8", shape: [3], data: new Float64Array([0.1, -2, 1e300]) });
    expect(readNpy(fixture("i4.npy"))).toEqual({ dtype: "i4", shape: [2, 2], data: new Int32Array([1, -2, 3, 2147483647]) });
    expect(readNpy(fixture("i8.npy"))).toEqual({ dtype: "i8", shape: [2], data: new BigInt64Array([-1n, 2n ** 40n]) });
    expect(readNpy(fixture("u1.npy"))).toEqual({ dtype: "u1", shape: [3], data: new Uint8Array([0, 128, 255]) });
    expect(readNpy(fixture("i1.npy"))).toEqual({ dtype: "i1", shape: [3], data: new Int8Array([-128, 0, 127]) });
    expect(readNpy(fixture("b1.npy"))).toEqual({ dtype: "b1", shape: [2], data: new Uint8Array([1, 0]) });
    expect(readNpy(fixture("scalar.npy"))).toEqual({ dtype: "f4", shape: [], data: new Float32Array([2.5]) });
    expect(readNpy(fixture("v2.npy"))).toEqual({ dtype: "f4", shape: [1, 2], data: new Float32Array([1.5, 2.5]) });
  });

  it("refuses fortran order, big-endian, bad magic and truncation clearly", () => {
    expect(() => readNpy(fixture("fortran.npy"))).toThrow(/fortran_order arrays are not supported/);
    expect(() => readNpy(fixture("bigendian.npy"))).toThrow(/unsupported dtype '>f4'/);
    expect(() => readNpy(new TextEncoder().encode("PK\x03\x04 not npy"))).toThrow(/bad magic/);
    const f4 = fixture("f4.npy");
    expect(() => readNpy(f4.subarray(0, f4.length - 1))).toThrow(/truncated \(data needs 24 bytes, has 23\)/);
    expect(() => readNpy(f4.subarray(0, 40))).toThrow(/truncated in the header/);
  });
});

describe("writeNpy", () => {
  it("writes byte-identical files to numpy's np.save (v1.0, 64-byte aligned)", () => {
    for (const name of ["f4.npy", "f8.npy", "i4.npy", "i8.npy", "u1.npy", "i1.npy", "b1.npy", "scalar.npy"]) {
      const bytes = fixture(name);
      expect(writeNpy(readNpy(bytes)), name).toEqual(bytes);
    }
  });

  it("round-trips and validates", () => {
    const a = { shape: [2, 1, 2], data: new Float32Array([1, -2, 3.5, 1e-8]) };
    const back = readNpy(writeNpy(a));
    expect(back).toEqual({ dtype: "f4", ...a });
    expect((writeNpy(a).length - a.data.byteLength) % 64).toBe(0);
    // subarray views are written from their own bytes only
    const big = new Float32Array([9, 1, 2, 9]);
    expect(readNpy(writeNpy({ shape: [2], data: big.subarray(1, 3) })).data).toEqual(new Float32Array([1, 2]));
    expect(() => writeNpy({ shape: [3], data: new Float32Array(2) })).toThrow(/do not fill shape/);
    expect(() => writeNpy({ dtype: "i4", shape: [1], data: new Float32Array(1) })).toThrow(/disagrees/);
  });
});
