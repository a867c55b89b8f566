// Single-node kernel harness: emits ONE node through ModuleBuilder with a hand-built KernelCtx (every
// value at its own fixed address sized for the largest test batch, guard bytes between), runs it on
// SIMD and scalar builds and compares with the op's float64 reference. Neighbours: test/backend-grad*.test.ts.

import type { Attrs, DType, Graph, Node, RefTensor, TensorType, ValueKind } from "../compiler/ir/types.js";
import { getOp } from "../compiler/ir/ops/index.js";
import { ModuleBuilder } from "../compiler/backend/wasm/module.js";
import type { KernelCtx } from "../compiler/backend/wasm/kernels/context.js";
import { KERNELS } from "../compiler/backend/wasm/kernels/index.js";
import { trainScratchBytes } from "../compiler/backend/wasm/kernels/train-index.js";

/** One input of the node under test: its type (shape may start with "N"), kind and data for a batch. */
export interface CaseInput {
  dtype?: DType;
  shape: (number | "N")[];
  kind?: ValueKind;
  /** Data for a concrete batch (length = element count at that batch). */
  data: (batch: number) => number[] | Float32Array | Int32Array;
}

/** A node to test: op name, attrs and inputs (outputs are inferred by the op table). */
export interface KernelCase {
  op: string;
  attrs: Attrs;
  inputs: CaseInput[];
  /** Output index -> input index whose buffer it shares (in-place kernels); default none. */
  alias?: Record<number, number>;
}

const GUARD = 64;
const SENTINEL = 0x7fc0dead | 0;
const align = (n: number, a: number): number => Math.ceil(n / a) * a;

function count(t: TensorType, batch: number): number {
  return t.shape.reduce<number>((a, d) => a * (d === "N" ? batch : d), 1);
}

/** An instantiated one-node module: write inputs, run at a batch, read outputs. */
export interface KernelModule {
  graph: Graph;
  node: Node;
  /** Write the inputs, fill outputs with a NaN sentinel, run, check guards; returns the outputs (f32 or i32 copies). */
  run(inputs: (number[] | Float32Array | Int32Array)[], batch: number): (Float32Array | Int32Array)[];
  /** Milliseconds per call of the kernel alone at `batch` (median of `reps`, on whatever memory holds). */
  bench(batch: number, reps: number): number;
}

/** Deterministic uniform numbers in [lo, hi), rounded to f32 (xorshift32). */
export function rand(seed: number): (lo?: number, hi?: number) => number {
  let s = seed >>> 0 || 1;
  return (lo = -1, hi = 1) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return Math.fround(lo + (s / 4294967296) * (hi - lo));
  };
}

/** `n` uniform f32 numbers in [lo, hi) from `seed`. */
export function uniform(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rand(seed);
  return Float32Array.from({ length: n }, () => r(lo, hi));
}

/** Build the graph + module for `kc` (SIMD or scalar), sized for batches up to `maxBatch`. */
export async function buildKernel(kc: KernelCase, simd: boolean, maxBatch: number): Promise<KernelModule> {
  const def = getOp(kc.op);
  if (!def) throw new Error(`unknown op ${kc.op}`);
  const inTypes: TensorType[] = kc.inputs.map((i) => ({ dtype: i.dtype ?? "f32", shape: [...i.shape] }));
  const outTypes = def.infer(inTypes, kc.attrs);
  const values: Graph["values"] = {};
  const ins = inTypes.map((t, k) => {
    const id = `in${k}`;
    values[id] = { id, type: t, kind: kc.inputs[k]!.kind ?? (t.shape[0] === "N" ? "activation" : "input") };
    return id;
  });
  const outs = outTypes.map((t, k) => {
    const id = `out${k}`;
    values[id] = { id, type: t, kind: "activation" };
    return id;
  });
  const node: Node = { id: "n0", op: kc.op, inputs: ins, outputs: outs, attrs: kc.attrs };
  const graph: Graph = { irVersion: 1, name: kc.op, inputs: [], outputs: [], values, nodes: [node] };

  // Layout: guard, then each value (capacity at maxBatch) followed by a guard, then scratch + guard.
  const addr = new Map<string, number>();
  let end = 1024;
  for (const id of [...ins, ...outs]) {
    const n = count(values[id]!.type, maxBatch);
    const k = outs.indexOf(id);
    const shared = k >= 0 ? kc.alias?.[k] : undefined;
    if (shared !== undefined) {
      addr.set(id, addr.get(ins[shared]!)!);
      continue;
    }
    addr.set(id, end);
    end = align(end + n * 4 + GUARD, 64);
  }
  const scratchBytes = trainScratchBytes(graph, node);
  const scratchAt = end;
  end = align(end + scratchBytes + GUARD, 64);

  const mb = new ModuleBuilder(simd);
  const f = mb.fn(1);
  const refuse = (what: string) => () => {
    throw new Error(`training kernel ${kc.op} used ${what} (params change every step: read them at run time)`);
  };
  const ctx: KernelCtx = {
    g: graph,
    node,
    f,
    batch: () => f.get(f.param(0)),
    ptr: (id) => f.i(addr.get(id)!),
    weightOffset: refuse("weightOffset"),
    weightData: refuse("weightData"),
    addDerived: refuse("addDerived"),
    aliased: () => false,
    scratch: () => f.i(scratchAt),
  };
  const kernel = KERNELS[kc.op];
  if (!kernel) throw new Error(`no kernel for ${kc.op}`);
  mb.addFunction("k", f, 1, kernel(ctx), "run");
  const wasm = mb.finish({ initialPages: Math.ceil(end / 65536) + 1, segments: [], optimize: true });
  const { instance } = await WebAssembly.instantiate(wasm, {});
  const memory = instance.exports["memory"] as WebAssembly.Memory;
  const runFn = instance.exports["run"] as (b: number) => void;

  return {
    graph,
    node,
    bench(batch, reps) {
      const times: number[] = [];
      for (let r = 0; r < reps; r++) {
        const t = performance.now();
        runFn(batch);
        times.push(performance.now() - t);
      }
      return times.sort((a, b) => a - b)[reps >> 1]!;
    },
    run(inputs, batch) {
      if (batch > maxBatch) throw new Error("batch above the planned maximum");
      const i32 = new Int32Array(memory.buffer);
      i32.fill(SENTINEL, 256, end >> 2);
      ins.forEach((id, k) => {
        const t = values[id]!.type;
        const data = inputs[k]!;
        if (data.length !== count(t, batch)) throw new Error(`input ${k}: length ${data.length}, want ${count(t, batch)}`);
        const view = t.dtype === "i32" ? new Int32Array(memory.buffer, addr.get(id)!, data.length) : new Float32Array(memory.buffer, addr.get(id)!, data.length);
        view.set(data as ArrayLike<number>);
      });
      const before = new Int32Array(memory.buffer.slice(0));
      runFn(batch);
      const after = new Int32Array(memory.buffer);
      // Everything but the outputs' first count(batch) elements and the scratch must be untouched.
      const writable = new Uint8Array(after.length);
      outs.forEach((id) => writable.fill(1, addr.get(id)! >> 2, (addr.get(id)! >> 2) + count(values[id]!.type, batch)));
      writable.fill(1, scratchAt >> 2, (scratchAt + scratchBytes) >> 2);
      for (let k = 0; k < after.length; k++)
        if (!writable[k] && after[k] !== before[k]) throw new Error(`${kc.op}: write outside its outputs at byte ${k * 4}`);
      return outs.map((id) => {
        const t = values[id]!.type;
        const n = count(t, batch);
        return t.dtype === "i32" ? new Int32Array(memory.buffer, addr.get(id)!, n).slice() : new Float32Array(memory.buffer, addr.get(id)!, n).slice();
      });
    },
  };
}

/** Float64 reference outputs of `kc` at `batch` for the given input data. */
export function reference(kc: KernelCase, inputs: ArrayLike<number>[], batch: number): RefTensor[] {
  const def = getOp(kc.op)!;
  const refIn: RefTensor[] = kc.inputs.map((i, k) => ({
    shape: i.shape.map((d) => (d === "N" ? batch : d)),
    data: Float64Array.from(inputs[k]!),
  }));
  return def.reference(refIn, kc.attrs);
}

/** Worst |got - ref| / max(1, |ref|) over all outputs (NaN must match NaN; a mismatch is Infinity). */
export function worstRelError(got: ArrayLike<number>[], ref: RefTensor[]): number {
  let worst = 0;
  ref.forEach((r, k) => {
    const g = got[k]!;
    if (g.length !== r.data.length) throw new Error(`output ${k}: length ${g.length}, want ${r.data.length}`);
    for (let i = 0; i < g.length; i++) {
      const a = g[i]!;
      const b = r.data[i]!;
      if (Number.isNaN(b) || Number.isNaN(a)) {
        if (!(Number.isNaN(a) && Number.isNaN(b))) return (worst = Infinity);
        continue;
      }
      if (!Number.isFinite(b) || !Number.isFinite(a)) {
        if (a !== b) worst = Infinity;
        continue;
      }
      worst = Math.max(worst, Math.abs(a - b) / Math.max(1, Math.abs(b)));
    }
  });
  return worst;
}

/** Builds of a case: SIMD and scalar. */
export const BUILDS = [
  { name: "simd", simd: true },
  { name: "scalar", simd: false },
] as const;

/** Test batches. */
export const BATCHES = [1, 3, 64] as const;

/**
 * Run `kc` on SIMD and scalar builds at batches 1, 3, 64 (or `batches`) and return the worst relative
 * error against the float64 reference (see worstRelError).
 */
export async function checkCase(kc: KernelCase, batches: readonly number[] = BATCHES): Promise<number> {
  let worst = 0;
  const maxB = Math.max(...batches);
  for (const b of BUILDS) {
    const km = await buildKernel(kc, b.simd, maxB);
    for (const B of batches) {
      const data = kc.inputs.map((i) => i.data(B));
      const got = km.run(data, B);
      worst = Math.max(worst, worstRelError(got, reference(kc, data as ArrayLike<number>[], B)));
    }
  }
  return worst;
}

/** Element count of a shape at a batch. */
export function countAt(shape: readonly (number | "N")[], batch: number): number {
  return shape.reduce<number>((a, d) => a * (d === "N" ? batch : d), 1);
}

/** An f32 input of `shape` filled with uniform data in [lo, hi) (seeded by `seed` and the batch). */
export function f32In(shape: (number | "N")[], seed: number, lo = -1, hi = 1, kind?: ValueKind): CaseInput {
  return { shape, ...(kind ? { kind } : {}), data: (B) => uniform(countAt(shape, B), seed * 1000 + B, lo, hi) };
}
