// The training module (spec/training.md §3): TrainingGraph -> one wasm module exporting train_step, eval_step
// and run, plus createWasmTrainBackend (the TrainBackend of compiler/train/backend.ts over it).
// Neighbours: plan-train.ts (layout), train-kernels.ts + kernels/* (code per node), module.ts, train/driver.ts.

import type { Graph, Node, WeightMap } from "../../ir/types.js";
import { elementsPerSample, numel } from "../../ir/graph.js";
import type { IoSpec } from "../../../runtime/manifest.js";
import type { TrainTensor, TrainingGraph } from "../../train/spec.js";
import { completeTensors, type BatchFields, type StepScalars, type TrainBackend, type TrainTensorData } from "../../train/backend.js";
import { ModuleBuilder, type Expr, type Segment } from "./module.js";
import { KERNELS } from "./kernels/index.js";
import { IN_PLACE_SAFE, trainScratchBytes } from "./kernels/train-index.js";
import type { Kernel, KernelCtx } from "./kernels/context.js";
import { nodesFor, planTrainEntry, trainScratchElems, valueClass, type EntryPlan } from "./plan-train.js";
import { batchnormRuntimeKernel, denseRuntimeKernel } from "./train-kernels.js";

/** First byte of the tensor region (bytes below stay zero), as the inference module's weights region. */
export const TRAIN_TENSORS_OFFSET = 1024;

/** Options of emitTrainingWasm. */
export interface TrainEmitOptions {
  /** true: f32x4 kernels (SIMD128); false: the scalar build (no v128 anywhere). */
  simd: boolean;
  /** Run binaryen -O3 (shrink 1). Default true. */
  optimize?: boolean;
  /**
   * "embed" (default): initial params/state (from `weights`) are data segments, so the module is
   * self-contained; "none": memory starts zeroed and the host writes the tensors (createWasmTrainBackend).
   */
  weights?: "embed" | "none";
  /** Also export each train_step node as `t<index>` and the write-back as `t_writeback` (profiling). Default false. */
  exportNodes?: boolean;
}

/** A tensor at a fixed absolute offset: persistent (param/state/optim) or a fixed-size input/output. */
export interface FixedSlot {
  name: string;
  dtype: "f32" | "i32";
  shape: number[];
  /** Absolute byte offset in memory. */
  offset: number;
}

/** A persistent training tensor in memory (PyTorch layout, f32). */
export interface TrainTensorSlot extends FixedSlot {
  role: TrainTensor["role"];
}

/** The ABI of one exported entry `name(batch)`. */
export interface EntryLayout {
  /** Batch-scaled inputs the host writes / outputs it reads: activationBase + offsetPerSample * batch. */
  inputs: IoSpec[];
  outputs: IoSpec[];
  /** Fixed-size inputs/outputs (lr, step, dropout_rng; losses) at absolute offsets. */
  fixedInputs: FixedSlot[];
  fixedOutputs: FixedSlot[];
  /** Ops of the entry's nodes in call order (node functions `t<index>` when exportNodes). */
  ops: string[];
}

/** Memory layout of a training module (what the manifest's `train` section records). */
export interface TrainLayout {
  /** Params, state, optimizer state (TrainingGraph.tensors order). */
  tensors: TrainTensorSlot[];
  entries: { train_step: EntryLayout; eval_step: EntryLayout; run: EntryLayout };
  memory: {
    scratchBase: number;
    scratchBytes: number;
    fixedBase: number;
    fixedBytes: number;
    /** Batch region: required bytes for batch B = activationBase + bytesPerSample * B. */
    activationBase: number;
    bytesPerSample: number;
    initialPages: number;
  };
}

/** What emitTrainingWasm produced. */
export interface TrainEmitResult {
  wasm: Uint8Array;
  layout: TrainLayout;
}

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

/** Kernels whose inference versions pack params at compile time; training modules read params at run time. */
const RUNTIME_KERNELS: Record<string, Kernel> = { dense: denseRuntimeKernel, batchnorm: batchnormRuntimeKernel };

/** Op -> kernel for training modules. Errors: "wasm backend: no kernel for op X". */
function kernelFor(op: string): Kernel {
  const k = RUNTIME_KERNELS[op] ?? KERNELS[op];
  if (!k) throw new Error(`wasm backend: no kernel for op ${op}`);
  return k;
}

/** One entry to emit: its graph, plan, pinned inputs/outputs by name. */
interface Entry {
  name: "train_step" | "eval_step" | "run";
  g: Graph;
  plan: EntryPlan;
  inputs: { name: string; value: string }[];
  outputs: { name: string; value: string }[];
  /** run: a subset of eval_step's nodes with eval_step's plan, calling its node functions (less code to optimize). */
  subsetOf?: Entry;
}

/** Plan an entry of `g` computing `outputs` from `inputs`; `inPlace` values live on tensors (not planned). */
function makeEntry(name: Entry["name"], g: Graph, inputs: Entry["inputs"], outputs: Entry["outputs"], inPlace: ReadonlyMap<string, string> = new Map()): Entry {
  const nodes = nodesFor(g, outputs.map((o) => o.value));
  const pinned = [...inputs.map((i) => i.value), ...outputs.map((o) => o.value)].filter((v) => !inPlace.has(v));
  const plan = planTrainEntry(g, nodes, pinned, new Set(inPlace.keys()));
  return { name, g, plan, inputs, outputs };
}

/**
 * Updates written in place (value id of `new:<name>` -> tensor name): the producing op is IN_PLACE_SAFE
 * (reads each element before writing it), reads tensor `name` itself, and is its last reader in `nodes`.
 * Their outputs need no buffer and no write-back copy.
 */
export function inPlaceUpdates(tg: TrainingGraph, nodes: readonly Node[]): Map<string, string> {
  const g = tg.graph;
  const out = new Map<string, string>();
  const lastRead = new Map<string, number>();
  nodes.forEach((n, k) => n.inputs.forEach((i) => lastRead.set(i, k)));
  for (const [name, id] of Object.entries(tg.updates)) {
    const k = nodes.findIndex((n) => n.outputs.includes(id));
    const n = nodes[k];
    if (!n || !IN_PLACE_SAFE.has(n.op)) continue;
    const own = n.inputs.find((i) => (g.values[i]!.kind === "param" || g.values[i]!.kind === "state") && (g.values[i]!.name ?? i) === name);
    if (own !== undefined && lastRead.get(own) === k) out.set(id, name);
  }
  return out;
}

/**
 * Emit the training module of `tg` (spec/training.md §3). Exports `memory`, `train_step(batch)` (the
 * nodes of tg.graph reaching the losses and the `new:*` outputs; an update op that is its tensor's last
 * reader writes in place (inPlaceUpdates), other `new:<name>` values are copied onto their tensors at the
 * end), `eval_step(batch)` (tg.evalGraph: inference forward + losses; model outputs and losses) and
 * `run(batch)` (inference forward only, with the inference ABI: inputs/outputs at activationBase +
 * offsetPerSample * batch; it shares eval_step's memory plan and node functions). Memory: [1024: tensors
 * (params, state, optimizer state, 16-aligned, PyTorch layout)] [consts] [scratch] [fixed arena]
 * [batch arena]. Params are read at run time by every kernel
 * (no compile-time packing). `weights` holds the initial params/state (optimizer state starts at zero).
 * Errors: missing/mis-shaped weights (completeTensors), "wasm backend: no kernel for op X", invalid module.
 */
export function emitTrainingWasm(tg: TrainingGraph, weights: WeightMap, options: TrainEmitOptions): TrainEmitResult {
  const initial = completeTensors(tg, weights);
  const tensors: TrainTensorSlot[] = [];
  const tensorOffset = new Map<string, number>();
  let end = TRAIN_TENSORS_OFFSET;
  for (const t of tg.tensors) {
    const offset = align(end, 16);
    tensors.push({ name: t.name, role: t.role, dtype: "f32", shape: [...t.shape], offset });
    tensorOffset.set(t.name, offset);
    end = offset + numel(t.shape) * 4;
  }
  const consts: Segment[] = [];
  const derived = new Map<string, number>();
  const addDerived = (key: string, data: Float32Array): number => {
    const hit = derived.get(key);
    if (hit !== undefined) return hit;
    const offset = align(end, 16);
    consts.push({ offset, data: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) });
    end = offset + data.byteLength;
    derived.set(key, offset);
    return offset;
  };

  const byName = (g: Graph, names: (n: string) => boolean): Entry["outputs"] => g.outputs.filter((o) => names(o.name));
  const fixedInputs = [tg.lr, tg.step, tg.dropoutRng, ...tg.losses.map((l) => l.weightInput)].filter((v): v is string => v !== undefined);
  const trainIn = tg.graph.inputs.filter((i) => tg.dataInputs.some((d) => d.name === i.name) || fixedInputs.includes(i.value));
  const isLoss = (n: string): boolean => n.startsWith("loss:") || n === "total_loss";
  const trainOut = byName(tg.graph, (n) => isLoss(n) || n.startsWith("new:"));
  const inPlace = inPlaceUpdates(tg, nodesFor(tg.graph, trainOut.map((o) => o.value)));
  const evalEntry = makeEntry("eval_step", tg.evalGraph, tg.evalGraph.inputs, tg.evalGraph.outputs);
  const runOutputs = byName(tg.evalGraph, (n) => !isLoss(n) && !n.startsWith("value:"));
  const entries: Entry[] = [
    makeEntry("train_step", tg.graph, trainIn, trainOut, inPlace),
    evalEntry,
    {
      name: "run",
      g: tg.evalGraph,
      plan: { ...evalEntry.plan, nodes: nodesFor(tg.evalGraph, runOutputs.map((o) => o.value)) },
      inputs: tg.evalGraph.inputs.filter((i) => tg.dataInputs.some((d) => d.name === i.name && d.kind === "input")),
      outputs: runOutputs,
      subsetOf: evalEntry,
    },
  ];

  const mb = new ModuleBuilder(options.simd);
  for (const e of entries) emitEntry(mb, e, tensorOffset, addDerived, e.name === "train_step" && options.exportNodes === true, tg, e.name === "train_step" ? inPlace : new Map());

  let scratchElems = 0;
  for (const e of entries) for (const n of e.plan.nodes) scratchElems = Math.max(scratchElems, trainScratchElems(e.g, n, scratchHook));
  const scratchBase = align(end, 64);
  const scratchBytes = align(scratchElems * 4, 16);
  const fixedBase = align(scratchBase + scratchBytes, 64);
  const fixedBytes = Math.max(...entries.map((e) => e.plan.fixedBytes));
  const activationBase = align(fixedBase + fixedBytes, 64);
  const bytesPerSample = Math.max(...entries.map((e) => e.plan.bytesPerSample));
  mb.addConstGlobal("scratch_base", scratchBase);
  mb.addConstGlobal("fixed_base", fixedBase);
  mb.addConstGlobal("act_base", activationBase);
  const initialPages = Math.max(1, Math.ceil((activationBase + bytesPerSample) / 65536));
  const segments: Segment[] = [...consts];
  if ((options.weights ?? "embed") === "embed")
    for (const t of tensors) {
      if (t.role === "optim") continue;
      const d = initial.get(t.name)!.data;
      segments.push({ offset: t.offset, data: new Uint8Array(d.buffer, d.byteOffset, d.byteLength) });
    }
  const wasm = mb.finish({ initialPages, segments, optimize: options.optimize ?? true });

  const entryLayout = (e: Entry): EntryLayout => {
    const io = (x: { name: string; value: string }): IoSpec => {
      const v = e.g.values[x.value]!;
      return {
        name: x.name,
        dtype: v.type.dtype === "i32" ? "i32" : "f32",
        shape: [...v.type.shape],
        elementsPerSample: elementsPerSample(v.type),
        offsetPerSample: e.plan.values[x.value]!.offset,
      };
    };
    const fixed = (x: { name: string; value: string }): FixedSlot => {
      const v = e.g.values[x.value]!;
      return { name: x.name, dtype: v.type.dtype === "i32" ? "i32" : "f32", shape: [...(v.type.shape as number[])], offset: fixedBase + e.plan.values[x.value]!.offset };
    };
    const batchOf = (x: { value: string }): boolean => valueClass(e.g, x.value) === "batch";
    // Outputs written in place onto tensors (new:* of the updates) are not listed: the host reads tensors.
    const outs = e.outputs.filter((x) => e.plan.values[x.value] !== undefined);
    return {
      inputs: e.inputs.filter(batchOf).map(io),
      outputs: outs.filter(batchOf).map(io),
      fixedInputs: e.inputs.filter((x) => !batchOf(x)).map(fixed),
      fixedOutputs: outs.filter((x) => !batchOf(x)).map(fixed),
      ops: e.plan.nodes.map((n) => n.op),
    };
  };
  const [train, evalE, run] = entries as [Entry, Entry, Entry];
  return {
    wasm,
    layout: {
      tensors,
      entries: { train_step: entryLayout(train), eval_step: entryLayout(evalE), run: entryLayout(run) },
      memory: { scratchBase, scratchBytes, fixedBase, fixedBytes, activationBase, bytesPerSample, initialPages },
    },
  };
}

/** Scratch elements the training kernels report (kernels/train-index.ts); plan-train.ts adds conv/dense/batchnorm. */
const scratchHook = (g: Graph, n: Node): number => Math.ceil(trainScratchBytes(g, n) / 4);

/** Emit one function per node of `e` and the exported entry function calling them in order. */
function emitEntry(
  mb: ModuleBuilder,
  e: Entry,
  tensorOffset: Map<string, number>,
  addDerived: (key: string, data: Float32Array) => number,
  exportNodes: boolean,
  tg: TrainingGraph,
  inPlace: ReadonlyMap<string, string>,
): void {
  const { g, plan } = e;
  const entryFn = mb.fn(1);
  const calls: Expr[] = [];
  const absolute = (id: string): number | undefined => {
    const onto = inPlace.get(id);
    if (onto !== undefined) return tensorOffset.get(onto)!;
    const v = g.values[id]!;
    if (v.kind === "param" || v.kind === "state") {
      const off = tensorOffset.get(v.name ?? v.id);
      if (off === undefined) throw new Error(`wasm backend: ${v.kind} ${v.name ?? v.id} is not a training tensor`);
      return off;
    }
    if (v.kind === "const") {
      // i32 consts keep their integer bit patterns (the region is f32-typed only for addDerived).
      const data = v.type.dtype === "i32" ? new Float32Array(Int32Array.from(v.data ?? []).buffer) : Float32Array.from(v.data ?? []);
      return addDerived(`const:${v.type.dtype}:${v.type.shape.join(",")}:${Array.from(data).join(",")}`, data);
    }
    return undefined;
  };
  const prefix = e.name === "train_step" ? "t" : "e";
  if (e.subsetOf) {
    const all = e.subsetOf.plan.nodes;
    for (const node of plan.nodes) calls.push(mb.call(`${prefix}${all.indexOf(node)}_${node.op}`, [entryFn.get(entryFn.param(0))]));
    mb.addFunction(e.name, entryFn, 1, calls, e.name);
    return;
  }
  plan.nodes.forEach((node, idx) => {
    const f = mb.fn(1);
    const ctx: KernelCtx = {
      g,
      node,
      f,
      batch: () => f.get(f.param(0)),
      ptr: (id) => {
        const abs = absolute(id);
        if (abs !== undefined) return f.i(abs);
        const p = plan.values[id];
        if (!p) throw new Error(`wasm backend: value ${id} has no memory in ${e.name}`);
        if (p.cls === "fixed") return f.addk(f.global("fixed_base"), p.offset);
        return f.add(f.global("act_base"), f.mulk(f.get(f.param(0)), p.offset));
      },
      weightOffset: (id) => {
        const abs = absolute(id);
        if (abs === undefined) throw new Error(`wasm backend: ${id} is not a tensor`);
        return abs;
      },
      weightData: (id) => {
        const v = g.values[id]!;
        if (v.kind !== "const") throw new Error(`wasm backend: ${v.kind} ${v.name ?? id} changes during training; kernels must read it at run time`);
        return Float32Array.from(v.data ?? []);
      },
      addDerived,
      aliased: (id) => plan.values[id]?.aliasOf !== undefined,
      scratch: () => f.global("scratch_base"),
    };
    const name = `${prefix}${idx}_${node.op}`;
    mb.addFunction(name, f, 1, kernelFor(node.op)(ctx), exportNodes ? `t${idx}` : undefined);
    calls.push(mb.call(name, [entryFn.get(entryFn.param(0))]));
  });
  if (e.name === "train_step") {
    // Write back: new:<name> onto its tensor (the update outputs live in the fixed arena until here).
    const wb = mb.fn(1);
    const copies: Expr[] = [];
    for (const [name, id] of Object.entries(tg.updates)) {
      if (inPlace.has(id)) continue;
      const p = plan.values[id];
      const dst = tensorOffset.get(name);
      if (!p || dst === undefined) throw new Error(`wasm backend: update of ${name} has no memory`);
      const src = p.cls === "fixed" ? wb.addk(wb.global("fixed_base"), p.offset) : wb.add(wb.global("act_base"), wb.mulk(wb.get(wb.param(0)), p.offset));
      copies.push(wb.copy(wb.i(dst), src, wb.i(numel(g.values[id]!.type.shape as number[]) * 4)));
    }
    mb.addFunction("t_writeback", wb, 1, copies, exportNodes ? "t_writeback" : undefined);
    calls.push(mb.call("t_writeback", [entryFn.get(entryFn.param(0))]));
  }
  mb.addFunction(e.name, entryFn, 1, calls, e.name);
}

/** The exports of a training module. */
interface TrainExports {
  memory: WebAssembly.Memory;
  train_step(batch: number): void;
  eval_step(batch: number): void;
  run(batch: number): void;
  [node: string]: unknown;
}

/** Options of createWasmTrainBackend. */
export interface WasmTrainOptions {
  simd: boolean;
  /** binaryen -O3; default true. */
  optimize?: boolean;
  /** Export node functions for profileTrainStep (train-profile.ts). Default false. */
  exportNodes?: boolean;
}

/**
 * TrainBackend over a compiled training module (compiled and instantiated synchronously). Memory grows per
 * batch as the inference runtime does; tensors are read/written at their layout offsets.
 */
export class WasmTrainBackend implements TrainBackend {
  /** The module's exports (train_step, eval_step, run, memory, node functions when exported). */
  readonly exports: TrainExports;

  constructor(
    readonly tg: TrainingGraph,
    readonly layout: TrainLayout,
    readonly wasm: Uint8Array,
    initial: Map<string, TrainTensorData>,
  ) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>), {});
    this.exports = instance.exports as unknown as TrainExports;
    this.writeTensors(initial);
  }

  /** Grow memory so a batch of `batch` samples fits (required = activationBase + bytesPerSample * batch). */
  ensure(batch: number): void {
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`training: batch must be a positive integer, got ${batch}`);
    const mem = this.exports.memory;
    const need = this.layout.memory.activationBase + this.layout.memory.bytesPerSample * batch;
    if (mem.buffer.byteLength < need) mem.grow(Math.ceil((need - mem.buffer.byteLength) / 65536));
  }

  /** Write the entry's batch inputs from `fields` (checked lengths) and grow memory first. */
  writeInputs(entry: EntryLayout, batch: number, fields: BatchFields): void {
    this.ensure(batch);
    const buf = this.exports.memory.buffer;
    const base = this.layout.memory.activationBase;
    for (const io of entry.inputs) {
      const data = fields[io.name];
      if (!data) throw new Error(`training: batch has no field '${io.name}'`);
      const n = io.elementsPerSample * batch;
      if (data.length !== n) throw new Error(`training: field '${io.name}' has ${data.length} elements, expected ${n} for batch ${batch}`);
      const View = io.dtype === "i32" ? Int32Array : Float32Array;
      new View(buf, base + io.offsetPerSample * batch, n).set(data);
    }
  }

  private readFixed(entry: EntryLayout, name: string): number {
    const slot = entry.fixedOutputs.find((s) => s.name === name);
    if (!slot) throw new Error(`training: no fixed output ${name}`);
    return new Float32Array(this.exports.memory.buffer, slot.offset, 1)[0]!;
  }

  private writeFixed(entry: EntryLayout, value: string | undefined, data: number[]): void {
    if (value === undefined) return;
    const name = this.tg.graph.inputs.find((i) => i.value === value)!.name;
    const slot = entry.fixedInputs.find((s) => s.name === name);
    if (!slot) return; // pruned: nothing reads it
    const View = slot.dtype === "i32" ? Int32Array : Float32Array;
    new View(this.exports.memory.buffer, slot.offset, data.length).set(data);
  }

  /** See TrainBackend.trainStep. lr is rounded to f32; dropout_rng = [seed | 0, step | 0]. */
  trainStep(batch: number, fields: BatchFields, scalars: StepScalars): Record<string, number> {
    this.checkBatchStatistics(batch);
    this.prepareTrainStep(batch, fields, scalars);
    this.exports.train_step(batch);
    return this.trainLosses();
  }

  /**
   * Batch statistics need more than one value per channel (PyTorch raises the same error in training mode);
   * the kernel would otherwise produce NaN from a zero-count unbiased variance.
   * Throws Error naming the batchnorm layer and the input shape at this batch size.
   */
  private checkBatchStatistics(batch: number): void {
    for (const n of this.tg.graph.nodes) {
      if (n.op !== "batchnorm_train") continue;
      const shape = this.tg.graph.values[n.inputs[0]!]!.type.shape;
      const perChannel = shape.reduce<number>((m, d, i) => (i === 1 ? m : m * (d === "N" ? batch : d)), 1);
      if (perChannel <= 1)
        throw new Error(
          `batchnorm${n.layer ? ` '${n.layer}'` : ""}: expected more than 1 value per channel when training, got input size [${shape
            .map((d) => (d === "N" ? batch : d))
            .join(", ")}] (a batch of ${batch}; use a larger batch_size, or drop the last partial batch)`,
        );
    }
  }

  /** Write everything train_step reads (batch fields, lr, step, dropout_rng) without running it (profiling). */
  prepareTrainStep(batch: number, fields: BatchFields, scalars: StepScalars): void {
    const entry = this.layout.entries.train_step;
    this.writeInputs(entry, batch, fields);
    this.writeFixed(entry, this.tg.lr, [scalars.lr]);
    this.writeFixed(entry, this.tg.step, [scalars.step]);
    this.writeFixed(entry, this.tg.dropoutRng, [scalars.seed | 0, scalars.step | 0]);
    for (const l of this.tg.losses) this.writeFixed(entry, l.weightInput, [scalars.lossWeights?.[l.name] ?? l.weight]);
  }

  /** The losses of the last train_step, by TrainSpec loss name. */
  trainLosses(): Record<string, number> {
    const losses: Record<string, number> = {};
    for (const l of this.tg.losses) losses[l.name] = this.readFixed(this.layout.entries.train_step, l.output);
    return losses;
  }

  /** See TrainBackend.evalStep. */
  evalStep(batch: number, fields: BatchFields): { losses: Record<string, number>; outputs: Record<string, Float32Array> } {
    const entry = this.layout.entries.eval_step;
    this.writeInputs(entry, batch, fields);
    this.exports.eval_step(batch);
    const losses: Record<string, number> = {};
    for (const l of this.tg.losses) losses[l.name] = this.readFixed(entry, l.output);
    const outputs: Record<string, Float32Array> = {};
    const buf = this.exports.memory.buffer;
    for (const io of entry.outputs)
      outputs[io.name] = new Float32Array(buf, this.layout.memory.activationBase + io.offsetPerSample * batch, io.elementsPerSample * batch).slice();
    return { losses, outputs };
  }

  /** Inference forward (the `run` entry): model inputs -> model outputs, [batch, ...] row-major. */
  run(batch: number, inputs: BatchFields): Record<string, Float32Array> {
    const entry = this.layout.entries.run;
    this.writeInputs(entry, batch, inputs);
    this.exports.run(batch);
    const buf = this.exports.memory.buffer;
    const out: Record<string, Float32Array> = {};
    for (const io of entry.outputs)
      out[io.name] = new Float32Array(buf, this.layout.memory.activationBase + io.offsetPerSample * batch, io.elementsPerSample * batch).slice();
    return out;
  }

  /** See TrainBackend.readTensors. */
  readTensors(): Map<string, TrainTensorData> {
    const out = new Map<string, TrainTensorData>();
    const buf = this.exports.memory.buffer;
    for (const t of this.layout.tensors)
      out.set(t.name, { role: t.role, shape: [...t.shape], data: new Float32Array(buf, t.offset, numel(t.shape)).slice() });
    return out;
  }

  /** See TrainBackend.writeTensors. Errors: unknown name, shape or length mismatch (nothing is written then). */
  writeTensors(tensors: ReadonlyMap<string, { shape: number[]; data: Float32Array }>): void {
    const slots = new Map(this.layout.tensors.map((t) => [t.name, t]));
    for (const [name, t] of tensors) {
      const own = slots.get(name);
      if (!own) throw new Error(`training: unknown tensor '${name}'`);
      if (own.shape.join(",") !== t.shape.join(",") || numel(own.shape) !== t.data.length)
        throw new Error(`training: tensor '${name}' has shape [${t.shape.join(", ")}], expected [${own.shape.join(", ")}]`);
    }
    const buf = this.exports.memory.buffer;
    for (const [name, t] of tensors) new Float32Array(buf, slots.get(name)!.offset, t.data.length).set(t.data);
  }
}

/**
 * Compile `tg` to a training module (emitTrainingWasm, tensors written by the host) and wrap it as a
 * TrainBackend. `weights`: initial params/state by name (optimizer state missing from it starts at zero).
 * Errors: as emitTrainingWasm and completeTensors.
 */
export function createWasmTrainBackend(tg: TrainingGraph, weights: WeightMap, options: WasmTrainOptions): WasmTrainBackend {
  const initial = completeTensors(tg, weights);
  const { wasm, layout } = emitTrainingWasm(tg, weights, {
    simd: options.simd,
    optimize: options.optimize ?? true,
    weights: "none",
    exportNodes: options.exportNodes ?? false,
  });
  return new WasmTrainBackend(tg, layout, wasm, initial);
}
