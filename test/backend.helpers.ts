// Test helpers for the wasm backend: instantiate an emitted module per the ABI of runtime/manifest.ts,
// run it, and compare against the float64 reference interpreter. Neighbours: test/backend*.test.ts.

import type { Graph, RefTensor, WeightMap } from "../compiler/ir/types.js";
import { paramValues, elementsPerSample } from "../compiler/ir/graph.js";
import { emitWasm, type EmitResult } from "../compiler/backend/wasm/emit.js";
import { runReference } from "../compiler/interp/reference.js";
import { rand as rng } from "./kernel-harness.js";

/** Deterministic uniform numbers in [lo, hi), rounded to f32 (kernel-harness.ts rand, xorshift32). */
export { rng };

/** Random weights for every param/state of `g` (running_var kept positive). */
export function randomWeights(g: Graph, seed = 1): WeightMap {
  const r = rng(seed);
  const m: WeightMap = new Map();
  for (const v of paramValues(g)) {
    const shape = v.type.shape as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    const pos = (v.name ?? "").endsWith("running_var");
    m.set(v.name ?? v.id, { shape, data: Float32Array.from({ length: n }, () => (pos ? r(0.2, 2) : r())) });
  }
  return m;
}

/** A loaded module: run it on f32 inputs for a batch, returns outputs by name. */
export interface Loaded {
  res: EmitResult;
  memory: WebAssembly.Memory;
  run(inputs: Record<string, Float32Array>, batch: number): Record<string, Float32Array>;
}

/** Instantiate per the ABI: copy the weights blob when not embedded, grow memory, write inputs, run. */
export async function load(res: EmitResult, embedded = true): Promise<Loaded> {
  const { instance } = await WebAssembly.instantiate(res.wasm, {});
  const memory = instance.exports["memory"] as WebAssembly.Memory;
  const run = instance.exports["run"] as (b: number) => void;
  if (!embedded) new Uint8Array(memory.buffer).set(res.weights.blob, res.weights.offset);
  return {
    res,
    memory,
    run(inputs, batch) {
      const need = res.memory.activationBase + res.memory.bytesPerSample * batch;
      if (memory.buffer.byteLength < need) memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
      const base = res.memory.activationBase;
      for (const io of res.inputs) {
        const data = inputs[io.name]!;
        if (data.length !== io.elementsPerSample * batch) throw new Error(`bad input length for ${io.name}`);
        new Float32Array(memory.buffer, base + io.offsetPerSample * batch, data.length).set(data);
      }
      run(batch);
      const out: Record<string, Float32Array> = {};
      for (const io of res.outputs)
        out[io.name] = new Float32Array(memory.buffer, base + io.offsetPerSample * batch, io.elementsPerSample * batch).slice();
      return out;
    },
  };
}

/** Random inputs for a batch (f32 values in [lo, hi)). */
export function randomInputs(g: Graph, batch: number, seed = 7, lo = -2, hi = 2): Record<string, Float32Array> {
  const r = rng(seed);
  const out: Record<string, Float32Array> = {};
  for (const i of g.inputs) {
    const n = elementsPerSample(g.values[i.value]!.type) * batch;
    out[i.name] = Float32Array.from({ length: n }, () => r(lo, hi));
  }
  return out;
}

/** Float64 reference outputs for f32 inputs. */
export function reference(g: Graph, w: WeightMap, inputs: Record<string, Float32Array>, batch: number): Record<string, Float64Array> {
  const ref: Record<string, RefTensor> = {};
  for (const i of g.inputs) {
    const shape = g.values[i.value]!.type.shape.map((d) => (d === "N" ? batch : d));
    ref[i.name] = { shape, data: Float64Array.from(inputs[i.name]!) };
  }
  const out = runReference(g, w, ref, { batch });
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data]));
}

/** Max |a - b| over all elements (Infinity on length mismatch, NaN mismatches count as Infinity). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (Number.isNaN(d)) {
      if (!(Number.isNaN(a[i]!) && Number.isNaN(b[i]!))) return Infinity;
    } else if (d > m) m = d;
  }
  return m;
}

/**
 * Emit SIMD and scalar builds (weights embedded / not embedded respectively), run both at each batch,
 * return the worst abs error against the reference over all outputs.
 */
export async function worstError(
  g: Graph,
  opts: { batches?: number[]; seed?: number; lo?: number; hi?: number; weights?: WeightMap; optimize?: boolean } = {},
): Promise<number> {
  const w = opts.weights ?? randomWeights(g, opts.seed ?? 1);
  const optimize = opts.optimize ?? true;
  const simd = await load(emitWasm(g, w, { simd: true, embedWeights: true, optimize }), true);
  const scalar = await load(emitWasm(g, w, { simd: false, embedWeights: false, optimize }), false);
  let worst = 0;
  for (const batch of opts.batches ?? [1, 3, 64]) {
    const inputs = randomInputs(g, batch, 11 + batch, opts.lo, opts.hi);
    const ref = reference(g, w, inputs, batch);
    for (const m of [simd, scalar]) {
      const out = m.run(inputs, batch);
      for (const name of Object.keys(ref)) worst = Math.max(worst, maxAbsDiff(out[name]!, ref[name]!));
    }
  }
  return worst;
}
