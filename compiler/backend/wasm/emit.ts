// The backend entry: inference Graph + weights -> one validated, optimized wasm module following the
// ABI of runtime/manifest.ts. Neighbours: plan.ts (activation layout), kernels/* (one function per
// node), module.ts (binaryen), artifact/build.ts (calls emitWasm and writes the files).

import type { Graph, WeightMap } from "../../ir/types.js";
import { elementsPerSample, paramValues } from "../../ir/graph.js";
import type { IoSpec, WeightEntry, WeightLayout } from "../../../runtime/manifest.js";
import { ModuleBuilder, type Expr, type FinishOptions } from "./module.js";
import { planMemory, type MemoryPlan } from "./plan.js";
import { INFER_KERNELS } from "./kernels/infer-index.js";
import { denseWeightLayouts } from "./kernels/dense.js";
import { lowerForWasm, planKernels } from "./kernel-plan.js";
import { packWeightTensor } from "../../../runtime/layout.js";
import { packKnPanelsInto } from "../../weights/pack-panels.js";
import { embeddingIdRanges } from "../../ir/id-ranges.js";
import type { KernelCtx } from "./kernels/context.js";
import { addNanScan } from "./nan-scan.js";

// The backend lowering (fuse-epilogue, fuse-elementwise) and the op -> kernel map live in kernel-plan.ts (pure, so
// `modelc inspect` shares them without binaryen); re-exported so compile() finds them in this lazily loaded chunk.
export { lowerForWasm, planKernels };

/** First byte of the weights region (bytes below stay zero; address 0 is never a valid tensor). */
export const WEIGHTS_OFFSET = 1024;

/** Options of emitWasm. */
export interface EmitOptions {
  /** true: f32x4 kernels (SIMD128 feature); false: the scalar fallback (no v128 anywhere). */
  simd: boolean;
  /** true: the weights region is active data segments; false: the runtime copies `weights.blob` there. */
  embedWeights: boolean;
  /**
   * Run binaryen -O3 (shrink 1) on the module. Default false: V8's optimizing tier does the work that
   * matters; interleaved runs of GEMM 512^3, mnist-mlp and mnist-cnn (batch 1 and 64) were no faster with
   * -O3 (within noise), while -O3 cost 0.4-3.9 s CPU per module (most of a compile). Without it each
   * example's code is 3-6 KB larger (under 17 KB). Light pass lists (vacuum, remove-unused-brs,
   * merge-blocks, reorder-locals, coalesce-locals) saved under 1% size for 60-750 ms: not used.
   */
  optimize?: boolean;
  /**
   * SIMD modules only: use relaxed-SIMD fused multiply-add (f32x4.relaxed_madd) in the GEMM kernels. compile()
   * ships it as NAME.relaxed.wasm and the runtime picks it on hosts that validate relaxed SIMD (Node 20 needs
   * --experimental-wasm-relaxed-simd); results may differ from the plain module in the last bit. Default false.
   */
  relaxed?: boolean;
  /**
   * Backend fusion (lowerForWasm: GEMM epilogues, fused elementwise loops). Default true; false emits one function
   * per graph node (tests compare the two; results are bit-identical).
   */
  fuse?: boolean;
  /** Elementwise ops may write over an input that dies there (plan.ts INPLACE_OPS). Default true; false for A/B runs. */
  inPlace?: boolean;
}

/** What the backend produced: the binary and the layout the manifest records. */
export interface EmitResult {
  /** Validated module (binaryen-optimized with options.optimize). */
  wasm: Uint8Array;
  inputs: IoSpec[];
  outputs: IoSpec[];
  memory: { activationBase: number; bytesPerSample: number; initialPages: number };
  /**
   * The weights region [offset, offset + bytes). `tensors` lists every param once (manifest entries), each in
   * the layout its kernel reads: PyTorch row-major, or `layout` (dense weights: GEMM panels, runtime/layout.ts).
   * After them come graph constants (and a packed copy of a dense weight only when the same tensor also feeds
   * an op that reads it row-major). `blob` (the whole region, what the weights file and the hash cover) is
   * loaded as one piece; new weights go through packWeightTensor.
   */
  weights: { offset: number; bytes: number; tensors: WeightEntry[]; blob: Uint8Array };
  /** Per-value offsets and liveness, for `modelc inspect`. */
  plan: MemoryPlan;
}

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

/**
 * One piece of the weights region: f32 data at an absolute byte offset; with `entry`, a param given in PyTorch
 * layout that blob() writes there in its stored layout (packWeightTensor straight into the blob: no packed copy).
 */
interface Chunk {
  offset: number;
  data: Float32Array;
  entry?: WeightEntry;
}

/**
 * The weights region under construction: original tensors first, then derived data. A build's region is a
 * fork() of the prepared one (WasmPrep): what kernels add stays in that build; derived data equal to an earlier
 * build's under the same key is reused (same array), and a blob equal chunk for chunk to an earlier build's is
 * that blob (the region's megabyte is copied once per compile, not once per build).
 */
class WeightRegion {
  private readonly chunks: Chunk[];
  private readonly derived: Map<string, number>;
  end: number;

  constructor(
    private readonly shared: { derived: Map<string, Float32Array>; blobs: { chunks: Chunk[]; blob: Uint8Array }[] } = { derived: new Map(), blobs: [] },
    from?: WeightRegion,
  ) {
    this.chunks = from ? [...from.chunks] : [];
    this.derived = new Map(from?.derived);
    this.end = from?.end ?? WEIGHTS_OFFSET;
  }

  /** A copy to extend independently (one per build); derived data and blobs are shared with it. */
  fork(): WeightRegion {
    return new WeightRegion(this.shared, this);
  }

  /**
   * Place `data` at the next 16-aligned offset; returns the absolute byte offset. With `entry` (a param's manifest
   * entry: its shape and layout), `data` is the tensor in PyTorch layout (as many elements as entry.shape) and the
   * region stores it as packWeightTensor would.
   */
  add(data: Float32Array, entry?: WeightEntry): number {
    const offset = align(this.end, 16);
    this.chunks.push(entry ? { offset, data, entry } : { offset, data });
    this.end = offset + data.length * 4;
    return offset;
  }
  /** Derived data is deduplicated by key (e.g. one W^T per weight even if used twice). */
  addDerived(key: string, data: Float32Array): number {
    const hit = this.derived.get(key);
    if (hit !== undefined) return hit;
    const seen = this.shared.derived.get(key);
    const same = seen !== undefined && sameBits(seen, data);
    if (!same) this.shared.derived.set(key, data);
    const off = this.add(same ? seen : data);
    this.derived.set(key, off);
    return off;
  }
  /** The bytes of [WEIGHTS_OFFSET, end) rounded up to 16; the same array for regions with the same chunks. */
  blob(): Uint8Array {
    const same = (c: Chunk, d: Chunk): boolean => c.offset === d.offset && c.data === d.data && c.entry === d.entry;
    const cached = this.shared.blobs.find((b) => b.chunks.length === this.chunks.length && b.chunks.every((c, i) => same(c, this.chunks[i]!)));
    if (cached) return cached.blob;
    const bytes = align(this.end, 16) - WEIGHTS_OFFSET;
    const out = new Uint8Array(bytes);
    for (const c of this.chunks) {
      const at = c.offset - WEIGHTS_OFFSET;
      const layout = c.entry?.layout;
      // kn_panels in wasm (weights/pack-panels.ts: packWeightTensor's bytes, not its cost on cold JS)
      if (layout?.kind === "kn_panels") {
        const [n, ...rest] = c.entry!.shape;
        packKnPanelsInto(c.data, n ?? 1, rest.reduce((x, d) => x * d, 1), layout.panel, new Float32Array(out.buffer, at, c.data.length));
      } else if (c.entry) packWeightTensor(c.entry, c.data, new Float32Array(out.buffer, at, c.data.length));
      else out.set(new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.byteLength), at);
    }
    this.shared.blobs.push({ chunks: [...this.chunks], blob: out });
    return out;
  }
}

/** True when `a` and `b` hold the same bit patterns (NaN payloads included). */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * What every build of one graph shares (SIMD, relaxed SIMD, scalar): the lowered graph, its memory plan, the
 * weights region with every param placed in its kernel's layout (packed into each blob) plus the graph constants, and the I/O specs.
 * Made by prepareWasm; emitPrepared turns it into one module. Read-only for builds (each forks the region).
 */
export interface WasmPrep {
  /** The graph after lowerForWasm. */
  readonly graph: Graph;
  readonly plan: MemoryPlan;
  readonly layouts: ReadonlyMap<string, WeightLayout>;
  /** Manifest entries of the params, in graph order. */
  readonly tensors: readonly WeightEntry[];
  /** Absolute byte offset and original f32 data of each param/const value id. */
  readonly valueOffset: ReadonlyMap<string, number>;
  readonly valueData: ReadonlyMap<string, Float32Array>;
  readonly inputs: readonly IoSpec[];
  readonly outputs: readonly IoSpec[];
  /** Params and constants placed; builds fork it. */
  readonly region: WeightRegion;
}

/**
 * The build-independent half of emitWasm: lowerForWasm, planMemory (`options.inPlace`, default true), the weights
 * region (each param placed in its kernel's layout, written packed when a build makes the blob; consts appended) and
 * the I/O specs. Errors: "wasm backend: missing weight NAME" / shape mismatch, "weight NAME: expected C elements, got
 * L"; "wasm backend: graph input/output NAME is not an activation".
 */
export function prepareWasm(input: Graph, weights: WeightMap, options: Pick<EmitOptions, "fuse" | "inPlace"> = {}): WasmPrep {
  // Backend lowering: activations and residual adds after a dense/conv go into its GEMM epilogue
  // (passes/fuse-epilogue.ts), then the remaining elementwise regions become one loop each (passes/fuse-elementwise.ts).
  const graph = lowerForWasm(input, options);
  const plan = planMemory(graph, { inPlace: options.inPlace ?? true });
  const region = new WeightRegion();
  const valueOffset = new Map<string, number>();
  const valueData = new Map<string, Float32Array>();
  const tensors: WeightEntry[] = [];
  const layouts = denseWeightLayouts(graph);
  for (const v of paramValues(graph)) {
    const name = v.name ?? v.id;
    const w = weights.get(name);
    if (!w) throw new Error(`wasm backend: missing weight ${name}`);
    const shape = v.type.shape as number[];
    if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i]))
      throw new Error(`wasm backend: weight ${name} has shape [${w.shape.join(", ")}], graph expects [${shape.join(", ")}]`);
    // Each tensor is stored once, in the layout its kernels read (dense weights: GEMM panels); the manifest
    // entry says how to unpack it (runtime/layout.ts).
    const layout = layouts.get(v.id);
    const entry: WeightEntry = { name, shape: [...shape], dtype: "f32", offset: 0, ...(layout ? { layout } : {}) };
    const count = shape.reduce((a, d) => a * d, 1);
    if (w.data.length !== count) throw new Error(`weight ${name}: expected ${count} elements, got ${w.data.length}`);
    // packed straight into the blob when a build asks for it (WeightRegion.blob), not into a copy here
    entry.offset = region.add(w.data, entry);
    valueOffset.set(v.id, entry.offset);
    valueData.set(v.id, w.data);
    tensors.push(entry);
  }
  for (const v of Object.values(graph.values))
    if (v.kind === "const") {
      const data = Float32Array.from(v.data ?? []);
      valueOffset.set(v.id, region.addDerived(`const:${v.id}`, data));
      valueData.set(v.id, data);
    }

  const ranges = embeddingIdRanges(graph);
  const io = (name: string, value: string): IoSpec => {
    const v = graph.values[value]!;
    const r = graph.inputs.some((i) => i.value === value) ? ranges.get(name) : undefined;
    const p = plan.values[value];
    if (!p) throw new Error(`wasm backend: graph input/output ${name} is not an activation`);
    return {
      name,
      dtype: v.type.dtype === "i32" ? "i32" : "f32",
      shape: [...v.type.shape],
      elementsPerSample: elementsPerSample(v.type),
      offsetPerSample: p.offsetPerSample,
      ...(r ? { range: [r.lo, r.hi] as [number, number], rangeOf: r.weight } : {}),
    };
  };
  const inputs = graph.inputs.map((i) => io(i.name, i.value));
  const outputs = graph.outputs.map((o) => io(o.name, o.value));
  return { graph, plan, layouts, tensors, valueOffset, valueData, inputs, outputs, region };
}

/**
 * Emit the wasm module for an inference graph (dropout removed, all shapes static except dim 0): prepareWasm
 * then emitPrepared. Errors: "wasm backend: no kernel for op X"; "wasm backend: missing weight NAME" / shape
 * mismatch; "wasm backend: invalid module ..." when binaryen validation fails (a backend bug).
 */
export function emitWasm(input: Graph, weights: WeightMap, options: EmitOptions): EmitResult {
  return emitPrepared(prepareWasm(input, weights, options), options);
}

/**
 * One build (`options.simd`, `relaxed`, `embedWeights`, `optimize`) of a prepared graph; any number of builds may
 * share one WasmPrep (compile() emits three), and each is byte-identical to emitWasm's with the same options
 * (test/emit-prep.test.ts). `options.fuse` / `inPlace` are prepareWasm's and ignored here. Errors as emitWasm.
 */
export function emitPrepared(prep: WasmPrep, options: EmitOptions): EmitResult {
  const b = buildModule(prep, options);
  return resultOf(prep, b, b.mb.finish(b.finish));
}

/**
 * The SIMD build and the relaxed-SIMD build of a prepared graph, the second made from the first's binaryen IR
 * (ModuleBuilder.finishWithRelaxed: madds rewritten in place) rather than emitted again; each byte-identical to
 * emitPrepared with `simd: true` and `relaxed` false / true (test/emit-prep.test.ts). Falls back to a second
 * emitPrepared when the IR cannot be rewritten (see finishWithRelaxed). Errors as emitWasm.
 */
export function emitSimdAndRelaxed(prep: WasmPrep, options: Omit<EmitOptions, "simd" | "relaxed">): { simd: EmitResult; relaxed: EmitResult } {
  const b = buildModule(prep, { ...options, simd: true });
  const out = b.mb.finishWithRelaxed(b.finish);
  const simd = resultOf(prep, b, out.simd);
  return { simd, relaxed: out.relaxed ? resultOf(prep, b, out.relaxed) : emitPrepared(prep, { ...options, simd: true, relaxed: true }) };
}

/** A built, unfinished module of a prepared graph, with what finish() and the EmitResult need. */
interface BuiltModule {
  mb: ModuleBuilder;
  finish: FinishOptions;
  blob: Uint8Array;
  memory: EmitResult["memory"];
}

/** All node functions, `run` and the globals of one build (kernels run here); the weights region forked per build. */
function buildModule(prep: WasmPrep, options: EmitOptions): BuiltModule {
  const { graph, plan, valueOffset, valueData, layouts } = prep;
  const region = prep.region.fork();
  const mb = new ModuleBuilder(options.simd, options.simd && options.relaxed === true);
  const calls: Expr[] = [];
  const runFn = mb.fn(1);
  graph.nodes.forEach((node, idx) => {
    const kernel = INFER_KERNELS[node.op];
    if (!kernel) throw new Error(`wasm backend: no kernel for op ${node.op}`);
    const f = mb.fn(1);
    const ctx: KernelCtx = {
      g: graph,
      node,
      f,
      batch: () => f.get(f.param(0)),
      ptr: (id) => {
        const off = valueOffset.get(id);
        if (off !== undefined) return f.i(off);
        const p = plan.values[id];
        if (!p) throw new Error(`wasm backend: value ${id} has no memory (kind ${graph.values[id]?.kind})`);
        return f.add(f.global("act_base"), f.mulk(f.get(f.param(0)), p.offsetPerSample));
      },
      weightOffset: (id) => {
        const off = valueOffset.get(id);
        if (off === undefined) throw new Error(`wasm backend: ${id} is not a weight`);
        return off;
      },
      weightData: (id) => {
        const d = valueData.get(id);
        if (!d) throw new Error(`wasm backend: ${id} is not a weight`);
        return d;
      },
      weightLayout: (id) => layouts.get(id),
      addDerived: (key, data) => region.addDerived(key, data),
      aliased: (id) => plan.values[id]?.aliasOf !== undefined,
      scratch: () => f.global("scratch_base"),
    };
    const name = `n${idx}_${node.op}`;
    mb.addFunction(name, f, 1, kernel(ctx));
    calls.push(mb.call(name, [runFn.get(runFn.param(0))]));
  });
  mb.addFunction("run", runFn, 1, calls, "run");
  addNanScan(mb); // exported nan_scan(ptr, n): Model.run's NaN check of f32 inputs (runtime/manifest.ts ABI)

  const scratchBase = align(region.end, 64);
  const activationBase = align(scratchBase + plan.scratchBytes, 64);
  mb.addConstGlobal("scratch_base", scratchBase);
  mb.addConstGlobal("act_base", activationBase);
  const blob = region.blob();
  const initialPages = Math.max(1, Math.ceil((activationBase + plan.bytesPerSample) / 65536));
  const finish: FinishOptions = {
    initialPages,
    segments: options.embedWeights && blob.length > 0 ? [{ offset: WEIGHTS_OFFSET, data: blob }] : [],
    optimize: options.optimize ?? false,
  };
  return { mb, finish, blob, memory: { activationBase, bytesPerSample: plan.bytesPerSample, initialPages } };
}

/** The EmitResult of `wasm` built by `b` (fresh copies of the prepared specs: results do not share them). */
function resultOf(prep: WasmPrep, b: BuiltModule, wasm: Uint8Array): EmitResult {
  return {
    wasm,
    inputs: prep.inputs.map((s) => ({ ...s, shape: [...s.shape], ...(s.range ? { range: [...s.range] as [number, number] } : {}) })),
    outputs: prep.outputs.map((s) => ({ ...s, shape: [...s.shape] })),
    memory: { ...b.memory },
    weights: { offset: WEIGHTS_OFFSET, bytes: b.blob.length, tensors: prep.tensors.map((t) => ({ ...t, shape: [...t.shape] })), blob: b.blob },
    plan: prep.plan,
  };
}
