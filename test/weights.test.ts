// Tests of weights/safetensors.ts, weights/bind.ts and weights/init.ts.
// Fixtures: test/fixtures/weights/*.safetensors written from torch by gen.py.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { GraphBuilder } from "../compiler/ir/graph.js";
import { parseSafetensors, readSafetensors, writeSafetensors, halfToFloat } from "../compiler/weights/safetensors.js";
import { bindWeights, checkWeights } from "../compiler/weights/bind.js";
import { initWeights, Xoshiro128 } from "../compiler/weights/init.js";

const FIX = new URL("./fixtures/weights/", import.meta.url);
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, FIX)));

describe("safetensors", () => {
  it("reads a torch state_dict with exact names, shapes and values", () => {
    const { tensors, metadata } = parseSafetensors(fixture("net.safetensors"));
    const expected = JSON.parse(readFileSync(new URL("net.expected.json", FIX), "utf8")) as Record<string, { shape: number[]; values: number[] }>;
    expect(metadata).toEqual({ format: "pt" });
    expect([...tensors.keys()].sort()).toEqual(Object.keys(expected).sort());
    expect(tensors.get("conv1.weight")!.shape).toEqual([4, 1, 3, 3]);
    expect(tensors.get("fc1.weight")!.shape).toEqual([3, 4]);
    for (const [name, e] of Object.entries(expected)) {
      const t = tensors.get(name)!;
      expect(t.shape).toEqual(e.shape);
      if (name.endsWith("num_batches_tracked")) {
        expect(t.dtype).toBe("I64");
        expect(t.shape).toEqual([]);
        expect(t.data).toEqual(new BigInt64Array([7n]));
      } else {
        expect(t.dtype).toBe("F32");
        expect(Array.from(t.data as Float32Array)).toEqual(e.values);
      }
    }
    expect(Array.from(tensors.get("bn.running_var")!.data as Float32Array)).toEqual([1.5, 0.75, 2.0, 0.125]);
  });

  it("converts F64/F16/BF16 to f32 and keeps integer dtypes", () => {
    const { tensors: t, metadata } = parseSafetensors(fixture("dtypes.safetensors"));
    expect(metadata).toEqual({ author: "gen.py", note: "dtype fixtures" });
    expect(t.get("f64")!.data).toEqual(new Float32Array([1, -2.5, 0.1, 1e-3]));
    expect(t.get("f64")!.shape).toEqual([2, 2]);
    expect(Array.from(t.get("f16")!.data as Float32Array)).toEqual([1, -0.5, 65504, 2 ** -14, 2 ** -24]);
    expect(Array.from(t.get("bf16")!.data as Float32Array)).toEqual([1, -3, 0.15625, Math.fround(3.3895313892515355e38)]);
    expect(t.get("i64")!.data).toEqual(new BigInt64Array([1n, -2n, 2n ** 40n]));
    expect(t.get("i32")!.data).toEqual(new Int32Array([7, -8]));
    expect(t.get("u8")!.data).toEqual(new Uint8Array([0, 255]));
    expect(t.get("flag")!.dtype).toBe("BOOL");
    expect(t.get("flag")!.data).toEqual(new Uint8Array([1, 0, 1]));
    expect(t.get("scalar")!.shape).toEqual([]);
    expect(t.get("scalar")!.data).toEqual(new Float32Array([3.5]));
  });

  it("halfToFloat handles inf, NaN and subnormals", () => {
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0xfc00)).toBe(-Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0x3c00)).toBe(1);
  });

  it("round-trips tensors and metadata; header padded to 8 bytes", () => {
    const src = new Map([
      ["b", { shape: [2], data: new Float32Array([1.25, -7]) }],
      ["a.weight", { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) }],
      ["idx", { shape: [3], data: new BigInt64Array([5n, -1n, 0n]) }],
      ["mask", { dtype: "BOOL" as const, shape: [2], data: new Uint8Array([1, 0]) }],
    ]);
    const bytes = writeSafetensors(src, { k: "v" });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const back = parseSafetensors(bytes);
    expect(back.metadata).toEqual({ k: "v" });
    expect([...back.tensors.keys()]).toEqual(["a.weight", "b", "idx", "mask"]);
    expect(back.tensors.get("a.weight")).toEqual({ dtype: "F32", shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) });
    expect(back.tensors.get("idx")!.data).toEqual(new BigInt64Array([5n, -1n, 0n]));
    expect(back.tensors.get("mask")!.dtype).toBe("BOOL");
    // the torch-written file re-serializes to the same tensors
    const torchFile = readSafetensors(fixture("net.safetensors"));
    expect(readSafetensors(writeSafetensors(torchFile))).toEqual(torchFile);
  });

  it("rejects truncated files, bad headers and out-of-range offsets with clear errors", () => {
    const good = fixture("net.safetensors");
    expect(() => readSafetensors(good.subarray(0, 5))).toThrow(/truncated/);
    expect(() => readSafetensors(good.subarray(0, 40))).toThrow(/truncated/);
    expect(() => readSafetensors(good.subarray(0, good.length - 4))).toThrow(/out of range/);
    const bad = (header: string): Uint8Array => {
      const h = new TextEncoder().encode(header);
      const b = new Uint8Array(8 + h.length + 8);
      new DataView(b.buffer).setBigUint64(0, BigInt(h.length), true);
      b.set(h, 8);
      return b;
    };
    expect(() => readSafetensors(bad("{not json"))).toThrow(/not valid UTF-8 JSON/);
    expect(() => readSafetensors(bad("[1]"))).toThrow(/not a JSON object/);
    expect(() => readSafetensors(bad('{"x":{"dtype":"Q8","shape":[1],"data_offsets":[0,1]}}'))).toThrow(/unsupported dtype "Q8"/);
    expect(() => readSafetensors(bad('{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}'))).toThrow(/needs 8/);
    expect(() => readSafetensors(bad('{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}'))).toThrow(/out of range/);
    expect(() => readSafetensors(bad('{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}'))).toThrow(/bad shape/);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
    expect(() => readSafetensors(huge)).toThrow(/too large/);
  });
});

/** A graph with the params of gen.py's Net (conv1 groups=2, bn, fc1). */
function netGraph() {
  const b = new GraphBuilder("net");
  b.param("conv1.weight", [4, 1, 3, 3], { kind: "uniform", low: -1 / 3, high: 1 / 3 });
  b.param("conv1.bias", [4], { kind: "uniform", low: -1 / 3, high: 1 / 3 });
  b.param("bn.weight", [4], { kind: "ones" });
  b.param("bn.bias", [4], { kind: "zeros" });
  b.param("bn.running_mean", [4], { kind: "zeros" }, "state");
  b.param("bn.running_var", [4], { kind: "ones" }, "state");
  b.param("fc1.weight", [3, 4], { kind: "uniform", low: -0.5, high: 0.5 });
  b.param("fc1.bias", [3], { kind: "uniform", low: -0.5, high: 0.5 });
  return b.build();
}

describe("bindWeights", () => {
  it("binds a torch state_dict directly, ignoring num_batches_tracked", () => {
    const loaded = readSafetensors(fixture("net.safetensors"));
    const { weights, diagnostics } = bindWeights(netGraph(), loaded);
    expect(diagnostics).toEqual([]);
    expect([...weights!.keys()]).toEqual(["conv1.weight", "conv1.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "fc1.weight", "fc1.bias"]);
    expect(weights!.get("bn.running_mean")).toEqual({ shape: [4], data: new Float32Array([0.5, -0.25, 1, 2]) });
    expect(weights!.get("fc1.weight")!.data).toBe(loaded.get("fc1.weight")!.data);
  });

  it("reports every missing, extra and mis-shaped tensor in ONE E0601", () => {
    const loaded = new Map(readSafetensors(fixture("net.safetensors")));
    loaded.delete("conv1.bias");
    loaded.delete("bn.bias");
    loaded.set("fc2.weight", { dtype: "F32", shape: [2, 3], data: new Float32Array(6) });
    loaded.set("fc1.weight", { dtype: "F32", shape: [4, 3], data: new Float32Array(12) });
    loaded.set("bn.weight", { dtype: "I64", shape: [4], data: new BigInt64Array(4) });
    const { weights, diagnostics } = bindWeights(netGraph(), loaded);
    expect(weights).toBeUndefined();
    expect(diagnostics).toHaveLength(1);
    const d = diagnostics[0]!;
    expect(d.code).toBe("E0601");
    expect(d.severity).toBe("error");
    const lines = d.message.split("\n");
    expect(lines[0]).toBe("weights do not match the model (5 problems):");
    expect(lines.slice(1).map((l) => l.trim().replace(/\s+/g, " "))).toEqual([
      "missing conv1.bias expected [4], not in the weights",
      "dtype bn.weight expected f32, got I64",
      "missing bn.bias expected [4], not in the weights",
      "shape fc1.weight expected [3, 4], got [4, 3]",
      "extra fc2.weight got [2, 3], not a parameter of the model",
    ]);
    expect(d.hint).toMatch(/fc1.weight' looks transposed/);
    expect(checkWeights(netGraph(), loaded).map((p) => p.kind)).toEqual(["missing", "dtype", "missing", "shape", "extra"]);
  });

  it("hints at conv groups; one 'declared here' note per layer", () => {
    const b = new GraphBuilder("g");
    const loc = (col: number) => ({ file: "m.model", line: 2, col });
    b.param("conv1.weight", [4, 1, 3, 3], { kind: "zeros" }, "param", loc(5));
    b.param("conv1.bias", [4], { kind: "zeros" }, "param", loc(5));
    b.param("fc.bias", [2], { kind: "zeros" }, "param", loc(30));
    const { diagnostics } = bindWeights(b.build(), new Map([["conv1.weight", { dtype: "F32", shape: [4, 2, 3, 3], data: new Float32Array(72) }]]));
    const d = diagnostics[0]!;
    expect(d.hint).toMatch(/conv2d weights are \[O, C\/groups, kh, kw\]/);
    expect(d.related).toEqual([
      { loc: loc(5), message: "conv1.weight, conv1.bias are declared here" },
      { loc: loc(30), message: "fc.bias is declared here" },
    ]);
  });

  it("hints at a 'module.' prefix", () => {
    const loaded = new Map([...readSafetensors(fixture("net.safetensors"))].map(([k, v]) => ["module." + k, v] as const));
    const { diagnostics } = bindWeights(netGraph(), loaded);
    expect(diagnostics[0]!.hint).toMatch(/start with 'module\.'/);
  });
});

describe("initWeights", () => {
  it("is bit-identical for the same seed, different for another seed", () => {
    const a = initWeights(netGraph(), 42);
    const b = initWeights(netGraph(), 42);
    const c = initWeights(netGraph(), 43);
    for (const [name, t] of a) {
      expect(new Uint8Array(b.get(name)!.data.buffer)).toEqual(new Uint8Array(t.data.buffer));
      expect(t.shape).toEqual(b.get(name)!.shape);
    }
    expect(c.get("fc1.weight")!.data).not.toEqual(a.get("fc1.weight")!.data);
    expect(a.get("bn.weight")!.data).toEqual(new Float32Array([1, 1, 1, 1]));
    expect(a.get("bn.running_mean")!.data).toEqual(new Float32Array(4));
  });

  it("pins the generator: xoshiro128** from splitmix32(0)", () => {
    const r = new Xoshiro128(0);
    const first = [r.nextU32(), r.nextU32(), r.nextU32()];
    expect(first.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32)).toBe(true);
    const again = new Xoshiro128(0);
    expect([again.nextU32(), again.nextU32(), again.nextU32()]).toEqual(first);
    // default seed is 0 and a tensor's values depend only on (seed, name)
    const g2 = new GraphBuilder("other");
    g2.param("fc1.weight", [3, 4], { kind: "uniform", low: -0.5, high: 0.5 });
    expect(initWeights(g2.build()).get("fc1.weight")!.data).toEqual(initWeights(netGraph(), 0).get("fc1.weight")!.data);
  });

  it("uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) and normal have the right statistics", () => {
    const fanIn = 256;
    const bound = 1 / Math.sqrt(fanIn);
    const b = new GraphBuilder("stats");
    b.param("fc.weight", [512, fanIn], { kind: "uniform", low: -bound, high: bound });
    b.param("emb.weight", [400, 250], { kind: "normal", mean: 1, std: 2 });
    const w = initWeights(b.build(), 7);
    const stats = (x: Float32Array) => {
      let s = 0, s2 = 0, lo = Infinity, hi = -Infinity;
      for (const v of x) { s += v; s2 += v * v; lo = Math.min(lo, v); hi = Math.max(hi, v); }
      const mean = s / x.length;
      return { mean, variance: s2 / x.length - mean * mean, lo, hi };
    };
    const u = stats(w.get("fc.weight")!.data);
    expect(u.lo).toBeGreaterThanOrEqual(-bound);
    expect(u.hi).toBeLessThanOrEqual(Math.fround(bound)); // f32 rounding may reach the bound
    expect(Math.abs(u.mean)).toBeLessThan(0.01 * bound); // sd of the mean = bound/sqrt(3*131072) ≈ 0.0016 bound
    expect(u.variance / (bound * bound / 3)).toBeGreaterThan(0.98);
    expect(u.variance / (bound * bound / 3)).toBeLessThan(1.02);
    const n = stats(w.get("emb.weight")!.data);
    expect(Math.abs(n.mean - 1)).toBeLessThan(0.03); // sd of mean = 2/sqrt(1e5) ≈ 0.0063
    expect(n.variance / 4).toBeGreaterThan(0.98);
    expect(n.variance / 4).toBeLessThan(1.02);
  });
});
