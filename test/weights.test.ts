// Tests of weights/safetensors.ts, weights/bind.ts and weights/init.ts.
// Fixtures: test/fixtures/weights/*.safetensors written from torch by gen.py.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { GraphBuilder } from "../compiler/ir/graph.js";
import { parseSafetensors, readSafetensors, writeSafetensors, halfToFloat } from "../compiler/weights/safetensors.js";
import { bindWeights, checkWeights } from "../compiler/weights/bind.js";
import { initWeights, Xoshiro128 } from "../compiler/weights/init.js";
import { fillUniform } from "../compiler/weights/uniform-fill.js";

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

describe("initWeights values are pinned", () => {
  /** FNV-1a over the f32 bytes of every tensor, in name order: any changed value changes it. */
  const digest = (w: Map<string, { data: Float32Array }>): string =>
    [...w]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, t]) => {
        const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
        let h = 0x811c9dc5;
        for (const x of bytes) h = Math.imul(h ^ x, 0x01000193) >>> 0;
        return `${name}:${t.data.length}:${h.toString(16)}`;
      })
      .join(" ");

  it("uniform, normal (odd and even counts, a zeroed padding row), zeros and ones: exact first values and digest", () => {
    const b = new GraphBuilder("pin");
    b.param("u.weight", [37, 11], { kind: "uniform", low: -0.25, high: 0.75 });
    b.param("n.weight", [7, 3], { kind: "normal", mean: 0.5, std: 2 });
    b.param("e.weight", [6, 4], { kind: "normal", mean: 0, std: 1, zeroRow: 2 });
    b.param("z.bias", [5], { kind: "zeros" });
    b.param("o.weight", [5], { kind: "ones" });
    const w = initWeights(b.build(), 1234);
    expect(Array.from(w.get("u.weight")!.data.slice(0, 3))).toEqual(PIN_U);
    expect(Array.from(w.get("n.weight")!.data.slice(-3))).toEqual(PIN_N);
    expect(Array.from(w.get("e.weight")!.data.slice(8, 12))).toEqual([0, 0, 0, 0]);
    expect(digest(w)).toBe(PIN_SMALL);
  });

  it("the example models' weights (seed 0 and 7) are bit for bit those of the original generator", async () => {
    const { check, optimizeGraph } = await import("../compiler/index.js");
    const got: string[] = [];
    for (const f of ["transformer-block", "mnist-cnn", "mnist-vqa"]) {
      const src = readFileSync(new URL(`../dsl-examples/${f}.model`, import.meta.url), "utf8");
      const g = optimizeGraph(check(src, f).graph!, { mode: "infer" });
      for (const seed of [0, 7]) got.push(`${f}/${seed} ${digest(initWeights(g, seed))}`);
    }
    expect(got).toEqual(PIN_EXAMPLES);
  });
});

// Values of the generator as of the first seeded initializer (computed once, never regenerated: a change here is a
// change of every default-initialized model's weights).
const PIN_U = [-0.11637012660503387,0.08567555248737335,0.591777503490448];
const PIN_N = [4.090015411376953,-1.1552234888076782,-1.4790332317352295];
const PIN_SMALL = "e.weight:24:f17484a9 n.weight:21:36624617 o.weight:5:edd1a8f8 u.weight:407:35356270 z.bias:5:b9fee455";
const PIN_EXAMPLES = [
  "transformer-block/0 layer.linear1.bias:512:9d3e23c7 layer.linear1.weight:65536:d52affdd layer.linear2.bias:128:e0fbc195 layer.linear2.weight:65536:650bfe52 layer.norm1.bias:128:4d7705c5 layer.norm1.weight:128:d219d1c5 layer.norm2.bias:128:4d7705c5 layer.norm2.weight:128:d219d1c5 layer.self_attn.in_proj_bias:384:f5ebd5c5 layer.self_attn.in_proj_weight:49152:b91e3823 layer.self_attn.out_proj.bias:128:4d7705c5 layer.self_attn.out_proj.weight:16384:345c84c2",
  "transformer-block/7 layer.linear1.bias:512:97181fbc layer.linear1.weight:65536:a7737920 layer.linear2.bias:128:e7110df layer.linear2.weight:65536:851733c2 layer.norm1.bias:128:4d7705c5 layer.norm1.weight:128:d219d1c5 layer.norm2.bias:128:4d7705c5 layer.norm2.weight:128:d219d1c5 layer.self_attn.in_proj_bias:384:f5ebd5c5 layer.self_attn.in_proj_weight:49152:285c64a5 layer.self_attn.out_proj.bias:128:4d7705c5 layer.self_attn.out_proj.weight:16384:e187f7be",
  "mnist-cnn/0 fc1.bias:128:40f84886 fc1.weight:200704:59c2e3a5 fc2.bias:10:407a8b00 fc2.weight:1280:f54cc0ad stage1.bn.bias:16:dfde6ac5 stage1.bn.running_mean:16:dfde6ac5 stage1.bn.running_var:16:cc886445 stage1.bn.weight:16:cc886445 stage1.conv.bias:16:29143154 stage1.conv.weight:144:66b2d4ca stage2.bn.bias:32:a7b537c5 stage2.bn.running_mean:32:a7b537c5 stage2.bn.running_var:32:531ceac5 stage2.bn.weight:32:531ceac5 stage2.conv.bias:32:4890093 stage2.conv.weight:4608:730fd083",
  "mnist-cnn/7 fc1.bias:128:40a77990 fc1.weight:200704:be4c182a fc2.bias:10:467bdff0 fc2.weight:1280:c0ebe9e1 stage1.bn.bias:16:dfde6ac5 stage1.bn.running_mean:16:dfde6ac5 stage1.bn.running_var:16:cc886445 stage1.bn.weight:16:cc886445 stage1.conv.bias:16:7e111516 stage1.conv.weight:144:9acecffb stage2.bn.bias:32:a7b537c5 stage2.bn.running_mean:32:a7b537c5 stage2.bn.running_var:32:531ceac5 stage2.bn.weight:32:531ceac5 stage2.conv.bias:32:ea4fa413 stage2.conv.weight:4608:314c7006",
  "mnist-vqa/0 cross_attn.in_proj_bias:48:75a104c5 cross_attn.in_proj_weight:768:d2753268 cross_attn.out_proj.bias:16:dfde6ac5 cross_attn.out_proj.weight:256:335d972e head1.bias:64:a21823b2 head1.weight:9216:deafdbb7 head2.bias:2:ea1c786a head2.weight:128:11b4f3a1 img_fc.bias:64:b1307cff img_fc.weight:50176:a09c3b patch_pos.weight:784:243dc41b q_embed.weight:288:a8c44635 q_fc.bias:64:d4380e0a q_fc.weight:5120:20f445a5 q_pos.weight:80:aef2c819 stage1.bn.bias:8:b2ae445 stage1.bn.running_mean:8:b2ae445 stage1.bn.running_var:8:c03f6a05 stage1.bn.weight:8:c03f6a05 stage1.conv.bias:8:249feab9 stage1.conv.weight:72:42d81b98 stage2.bn.bias:16:dfde6ac5 stage2.bn.running_mean:16:dfde6ac5 stage2.bn.running_var:16:cc886445 stage2.bn.weight:16:cc886445 stage2.conv.bias:16:d9a4346c stage2.conv.weight:1152:f6377f5d",
  "mnist-vqa/7 cross_attn.in_proj_bias:48:75a104c5 cross_attn.in_proj_weight:768:5adde794 cross_attn.out_proj.bias:16:dfde6ac5 cross_attn.out_proj.weight:256:4d8b65f3 head1.bias:64:ea58d1a6 head1.weight:9216:4f2998ea head2.bias:2:b67b4d28 head2.weight:128:c866e257 img_fc.bias:64:43a89218 img_fc.weight:50176:ab838c8b patch_pos.weight:784:2306730a q_embed.weight:288:8657de15 q_fc.bias:64:c649264d q_fc.weight:5120:3750e9fa q_pos.weight:80:73a0c6ce stage1.bn.bias:8:b2ae445 stage1.bn.running_mean:8:b2ae445 stage1.bn.running_var:8:c03f6a05 stage1.bn.weight:8:c03f6a05 stage1.conv.bias:8:b1e46b9f stage1.conv.weight:72:2ca8849d stage2.bn.bias:16:dfde6ac5 stage2.bn.running_mean:16:dfde6ac5 stage2.bn.running_var:16:cc886445 stage2.bn.weight:16:cc886445 stage2.conv.bias:16:c99dbd44 stage2.conv.weight:1152:2b727e7d"
];

describe("weights/uniform-fill.ts (uniform init in wasm)", () => {
  it("equals low + w * nextFloat() rounded to f32, across chunk boundaries, and advances the stream by n", () => {
    for (const [seed, n, low, high] of [[3, 1, -1, 1], [11, 65536 * 2 + 3, -0.0625, 0.0625], [0xdeadbeef, 1000, 2.5, 1e6]] as const) {
      const js = new Xoshiro128(seed);
      const want = new Float32Array(n);
      for (let i = 0; i < n; i++) want[i] = low + (high - low) * js.nextFloat();
      const wasm = new Xoshiro128(seed);
      const state = wasm.getState();
      const got = new Float32Array(n);
      fillUniform(got, state, low, high - low);
      wasm.setState(state);
      // index of the first differing value (-1: bit-identical); a cheap message on failure
      const a = new Uint32Array(got.buffer);
      const b = new Uint32Array(want.buffer);
      expect(a.findIndex((x, i) => x !== b[i])).toBe(-1);
      expect([wasm.nextU32(), wasm.nextU32()]).toEqual([js.nextU32(), js.nextU32()]);
    }
  });
});
