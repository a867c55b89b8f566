// Property-test machinery: a seeded generator of valid inference graphs over the v1 ops, and a checker
// that compiles each graph to wasm (SIMD and scalar) and compares it with the float64 reference.
// Neighbours: test/fuzz.test.ts (200 fixed seeds), scripts/fuzz.ts (long runs, failure localization).
//
// Tolerance: every output element must satisfy |wasm - ref| <= FUZZ_TOLERANCE * max(1, |ref|), where
// ref is runReference (float64) on the same f32 inputs and weights. Equal infinities and NaN vs NaN match.

import type { Attrs, AttrValue, Graph, RefTensor, TensorType, WeightMap } from "../compiler/ir/types.js";
import { GraphBuilder, elementsPerSample, showShape } from "../compiler/ir/graph.js";
import { getOp } from "../compiler/ir/ops/index.js";
import { OpTypeError } from "../compiler/ir/ops/def.js";
import { Xoshiro128, initWeights } from "../compiler/weights/init.js";
import { optimizeGraph } from "../compiler/passes/pipeline.js";
import { runReference } from "../compiler/interp/reference.js";
import { emitWasm, type EmitResult } from "../compiler/backend/wasm/emit.js";
import { buildArtifact } from "../compiler/artifact/build.js";
import { loadModel } from "../runtime/index.js";

/** Per-element tolerance factor: |wasm - ref| <= FUZZ_TOLERANCE * max(1, |ref|). */
export const FUZZ_TOLERANCE = 1e-5;

/** Batch sizes a case is run at (two per case, drawn from here). */
export const FUZZ_BATCHES = [1, 2, 3, 5, 64] as const;

/** Largest per-sample element count of any generated value (keeps 200 graphs well under a minute). */
const MAX_ELEMS = 2048;

/** Seeded random helpers over xoshiro128** (compiler/weights/init.ts). */
export class Rand {
  private readonly r: Xoshiro128;
  constructor(seed: number) {
    this.r = new Xoshiro128(seed);
  }
  /** Uniform in [0, 1). */
  float(): number {
    return this.r.nextFloat();
  }
  /** Uniform f32-representable value in [lo, hi). */
  f32(lo: number, hi: number): number {
    return Math.fround(lo + (hi - lo) * this.r.nextFloat());
  }
  /** Integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.r.nextFloat() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.r.nextFloat() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r.nextFloat() * xs.length)]!;
  }
  /** Pick by weights (parallel arrays). */
  weighted<T>(xs: readonly T[], ws: readonly number[]): T {
    const total = ws.reduce((a, b) => a + b, 0);
    let u = this.r.nextFloat() * total;
    for (let i = 0; i < xs.length; i++) {
      u -= ws[i]!;
      if (u < 0) return xs[i]!;
    }
    return xs[xs.length - 1]!;
  }
}

/** One generated case: the graph as lowering would build it, plus everything needed to run it. */
export interface FuzzCase {
  seed: number;
  graph: Graph;
  /** Human-readable op sequence, e.g. `v3 = conv2d(v0 [N,3,7,7]; kernel=3 ...) -> [N,4,5,5]`. */
  steps: string[];
  /** The two batch sizes the case is run at, in order, on the same instance. */
  batches: [number, number];
  /** initWeights(graph, seed) with random (nonzero) batchnorm statistics and affine params. */
  weights: WeightMap;
  /**
   * "O3": SIMD and scalar builds with binaryen -O3 (as shipped) plus an unoptimized SIMD build;
   * "none": SIMD and scalar builds with `optimize: false` (~20x cheaper to emit, same kernels and plan).
   */
  optimize: "O3" | "none";
  /** Also go through buildArtifact + loadModel (the public runtime) instead of the raw ABI. */
  checkRuntime: boolean;
  /** "uniform": inputs in [-2, 2); "special": also a few NaN, +-Infinity, +-1e30 and -0 (scripts/fuzz.ts --special). */
  inputs?: "uniform" | "special";
}

interface PoolVal {
  id: string;
  type: TensorType;
}

const show = (t: TensorType): string => showShape(t.shape).replace(/ /g, "");
const fmtAttr = (v: AttrValue): string => (Array.isArray(v) ? `[${v.join(",")}]` : JSON.stringify(v));
const fmtAttrs = (a: Attrs): string =>
  Object.entries(a)
    .map(([k, v]) => `${k}=${fmtAttr(v)}`)
    .join(" ");

/** Divisors of n in increasing order. */
function divisors(n: number): number[] {
  const out: number[] = [];
  for (let d = 1; d <= n; d++) if (n % d === 0) out.push(d);
  return out;
}

/** Builds one graph: a pool of live values, ops applied through normalize/params/infer like lowering. */
class Gen {
  readonly b = new GraphBuilder("fuzz");
  readonly pool: PoolVal[] = [];
  readonly steps: string[] = [];
  private layers = 0;
  constructor(readonly r: Rand) {}

  /** The op's language args with defaults filled, as frontend/lower.ts does. */
  private withDefaults(op: string, given: Attrs): Attrs {
    const def = getOp(op)!;
    const args: Attrs = {};
    for (const a of def.args) {
      const v = given[a.name];
      if (v !== undefined) args[a.name] = v;
      else if (a.default !== undefined) args[a.name] = a.default;
    }
    return args;
  }

  /**
   * normalize -> params -> infer -> GraphBuilder.node, exactly like lowering. Returns the output id, or
   * undefined when the op rejects the arguments/shapes (OpTypeError: a valid rejection) or the output is
   * too large or breaks the batch-at-axis-0 invariant. Nothing is added to the graph on rejection.
   */
  apply(op: string, inputs: string[], given: Attrs): string | undefined {
    const def = getOp(op)!;
    const types = inputs.map((i) => this.b.typeOf(i));
    const args = this.withDefaults(op, given);
    let attrs: Attrs;
    let outType: TensorType;
    let specs: ReturnType<NonNullable<typeof def.params>> = [];
    try {
      attrs = def.normalize ? def.normalize(args, types) : args;
      specs = def.params ? def.params(types, attrs) : [];
      [outType] = def.infer([...types, ...specs.map((s) => ({ dtype: "f32" as const, shape: [...s.shape] }))], attrs) as [TensorType];
    } catch (e) {
      if (e instanceof OpTypeError) return undefined;
      throw e;
    }
    if (outType.shape[0] !== "N" || outType.shape.slice(1).includes("N")) return undefined;
    if (elementsPerSample(outType) > MAX_ELEMS || outType.shape.length > 5) return undefined;
    const layer = specs.length > 0 ? `l${this.layers++}` : undefined;
    const pids = specs.map((p) => this.b.param(`${layer}.${p.suffix}`, p.shape, p.init, p.kind));
    const [out] = this.b.node(op, [...inputs, ...pids], attrs, layer ? { layer } : {});
    const argStr = inputs.map((i) => `${i} ${show(this.b.typeOf(i))}`).join(", ");
    this.steps.push(`${out} = ${op}(${argStr}${Object.keys(attrs).length ? "; " + fmtAttrs(attrs) : ""}) -> ${show(outType)}`);
    this.pool.push({ id: out!, type: outType });
    return out;
  }

  /** Latest value most of the time (chains), an earlier one otherwise (branches, DAGs). */
  pickInput(): PoolVal {
    return this.r.chance(0.6) ? this.pool[this.pool.length - 1]! : this.r.pick(this.pool);
  }

  intOrPair(lo: number, hi: number): number | number[] {
    return this.r.chance(0.7) ? this.r.int(lo, hi) : [this.r.int(lo, hi), this.r.int(lo, hi)];
  }

  /** A random per-sample target shape with the same element count (one dim sometimes -1). */
  reshapeTarget(total: number): number[] {
    const rank = this.r.int(1, 4);
    const dims: number[] = [];
    let rest = total;
    for (let i = 0; i < rank - 1; i++) {
      const d = this.r.pick(divisors(rest));
      dims.push(d);
      rest /= d;
    }
    dims.push(rest);
    // shuffle so the remainder is not always last
    for (let i = dims.length - 1; i > 0; i--) {
      const j = this.r.int(0, i);
      [dims[i], dims[j]] = [dims[j]!, dims[i]!];
    }
    if (this.r.chance(0.3)) dims[this.r.int(0, dims.length - 1)] = -1;
    return dims;
  }

  /** Try one random op; returns true if a node was added. */
  step(): boolean {
    const ops = ["dense", "conv2d", "maxpool2d", "avgpool2d", "global_avgpool2d", "flatten", "reshape", "concat", "add", "mul",
      "batchnorm", "relu", "sigmoid", "tanh", "leaky_relu", "gelu", "softmax", "dropout", "residual", "excite", "inception"];
    const ws = [3, 5, 4, 3, 1, 1.5, 1.5, 2.5, 3, 2, 2, 1.5, 1, 1, 1, 1.5, 1.5, 0.5, 1, 1, 1];
    const op = this.r.weighted(ops, ws);
    const x = this.pickInput();
    const rank = x.type.shape.length;
    const r = this.r;
    switch (op) {
      case "dense":
        return this.apply(op, [x.id], { units: r.chance(0.8) ? r.int(1, 24) : r.int(25, 80), bias: r.chance(0.8) }) !== undefined;
      case "conv2d": {
        if (rank !== 4) return false;
        const C = x.type.shape[1] as number;
        const groups = r.chance(0.6) ? 1 : r.chance(0.5) ? C : r.pick(divisors(C));
        const out = groups * r.int(1, Math.max(1, Math.floor((r.chance(0.8) ? 8 : 24) / groups)));
        const padding: AttrValue = r.weighted(
          [() => "valid", () => "same", () => r.int(0, 2), () => [r.int(0, 2), r.int(0, 2)], () => [r.int(0, 3), r.int(0, 3), r.int(0, 3), r.int(0, 3)]],
          [2, 2, 2, 1, 1.5],
        )() as AttrValue;
        return (
          this.apply(op, [x.id], {
            out_channels: out,
            kernel: this.intOrPair(1, 5),
            stride: r.chance(0.5) ? 1 : this.intOrPair(1, 3),
            padding,
            dilation: r.chance(0.6) ? 1 : this.intOrPair(1, 3),
            groups,
            bias: r.chance(0.8),
          }) !== undefined
        );
      }
      case "maxpool2d":
      case "avgpool2d": {
        if (rank !== 4) return false;
        const kernel = this.intOrPair(r.chance(0.2) ? 1 : 2, 4);
        const kmin = Array.isArray(kernel) ? Math.min(...kernel) : kernel;
        const a: Attrs = {
          kernel,
          padding: r.chance(0.4) ? 0 : this.intOrPair(0, Math.floor(kmin / 2)),
          ceil_mode: r.chance(0.4),
        };
        if (r.chance(0.5)) a["stride"] = this.intOrPair(1, 3);
        if (op === "maxpool2d" && r.chance(0.5)) a["dilation"] = this.intOrPair(1, 2);
        if (op === "avgpool2d") a["count_include_pad"] = r.chance(0.5);
        return this.apply(op, [x.id], a) !== undefined;
      }
      case "global_avgpool2d":
        return rank === 4 && this.apply(op, [x.id], {}) !== undefined;
      case "flatten":
        return this.apply(op, [x.id], { start_dim: r.chance(0.7) ? r.int(1, rank - 1) : -r.int(1, rank - 1) }) !== undefined;
      case "reshape":
        return this.apply(op, [x.id], { shape: this.reshapeTarget(elementsPerSample(x.type)) }) !== undefined;
      case "concat": {
        const axisPos = r.int(1, rank - 1);
        const fits = this.pool.filter(
          (v) => v.type.shape.length === rank && v.type.shape.every((d, k) => k === axisPos || d === x.type.shape[k]),
        );
        const n = r.chance(0.75) ? 2 : 3;
        const ins = [x.id, ...Array.from({ length: n - 1 }, () => r.pick(fits).id)];
        return this.apply(op, ins, { axis: r.chance(0.7) ? axisPos : axisPos - rank }) !== undefined;
      }
      case "add":
      case "mul": {
        const partners = this.pool.filter((v) => v !== x && this.broadcastable(x.type, v.type));
        let other: string;
        if (partners.length > 0 && r.chance(0.7)) other = r.pick(partners).id;
        else if (r.chance(0.2)) other = x.id;
        else other = this.constFor(x.type);
        const ins = r.chance(0.5) ? [x.id, other] : [other, x.id];
        return this.apply(op, ins, {}) !== undefined;
      }
      case "batchnorm":
        return this.apply(op, [x.id], { eps: r.pick([1e-5, 1e-3, 0.1]), momentum: 0.1 }) !== undefined;
      case "leaky_relu":
        return this.apply(op, [x.id], { alpha: r.pick([0.01, 0.2, -0.5, 1.5, r.f32(-1, 1)]) }) !== undefined;
      case "gelu":
        return this.apply(op, [x.id], { approximate: r.pick(["none", "tanh"]) }) !== undefined;
      case "softmax":
        return this.apply(op, [x.id], { axis: r.chance(0.5) ? -1 : r.chance(0.5) ? r.int(1, rank - 1) : -r.int(1, rank - 1) }) !== undefined;
      case "dropout":
        return this.apply(op, [x.id], { p: r.pick([0, 0.1, 0.5]) }) !== undefined;
      case "residual": {
        // x + f(x) with f a "same" conv keeping the channels (ResNet block shape).
        if (rank !== 4) return false;
        const C = x.type.shape[1] as number;
        const k = r.pick([1, 3, 5]);
        const y = this.apply("conv2d", [x.id], { out_channels: C, kernel: k, padding: "same", dilation: r.chance(0.3) ? 2 : 1, groups: r.chance(0.3) ? C : 1 });
        const z = y && (r.chance(0.5) ? this.apply("relu", [y], {}) : y);
        return z !== undefined && this.apply("add", r.chance(0.5) ? [x.id, z] : [z, x.id], {}) !== undefined;
      }
      case "excite": {
        // x * sigmoid(gap(x)) (squeeze-and-excitation: [N, C, H, W] * [N, C, 1, 1]).
        if (rank !== 4) return false;
        const g = this.apply("global_avgpool2d", [x.id], {});
        const s = g && this.apply("sigmoid", [g], {});
        return s !== undefined && this.apply("mul", r.chance(0.5) ? [x.id, s] : [s, x.id], {}) !== undefined;
      }
      case "inception": {
        // Two or three conv branches with "same" padding joined on channels.
        if (rank !== 4) return false;
        const outs: string[] = [];
        for (let i = r.int(2, 3); i > 0; i--) {
          const y = this.apply("conv2d", [x.id], { out_channels: r.int(1, 4), kernel: r.pick([1, 3, [1, 3], [3, 1], 5]), padding: "same" });
          if (y) outs.push(y);
        }
        return outs.length > 0 && this.apply("concat", outs, { axis: 1 }) !== undefined;
      }
      default:
        return this.apply(op, [x.id], {}) !== undefined;
    }
  }

  /** True when a and b broadcast to a shape with "N" only at axis 0 (the IR invariant). */
  private broadcastable(a: TensorType, b: TensorType): boolean {
    try {
      const [t] = getOp("add")!.infer([a, b], {});
      return t!.shape[0] === "N" && !t!.shape.slice(1).includes("N");
    } catch {
      return false;
    }
  }

  /** A const that broadcasts against `t`: a trailing part of its per-sample shape, some dims set to 1. */
  private constFor(t: TensorType): string {
    const per = t.shape.slice(1) as number[];
    const keep = this.r.int(0, per.length);
    let shape = per.slice(per.length - keep).map((d) => (this.r.chance(0.4) ? 1 : d));
    if (keep === per.length && this.r.chance(0.3)) shape = [1, ...shape];
    if (shape.length === 0) shape = [1];
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Array.from({ length: n }, () => this.r.f32(-1.5, 1.5));
    const id = this.b.constant(shape, data);
    return id;
  }
}

/** Draw a graph input: an image [C, H, W], a vector [F] or a sequence [T, F]. */
function randomInputShape(r: Rand): number[] {
  const odd = (): number => (r.chance(0.6) ? 2 * r.int(0, 6) + 1 : r.int(1, 13));
  return r.weighted(
    [() => [r.int(1, 6), odd(), odd()], () => [r.int(1, 40)], () => [r.int(1, 6), r.int(1, 16)]],
    [5, 3, 1.5],
  )();
}

/**
 * Generate the case for `seed`: 1-2 inputs, 2-9 accepted ops or small motifs (residual, excite,
 * inception) forming chains and branches; outputs: the last value, sometimes 1-2 others (repeats
 * allowed) and rarely a graph input. Build mix: "O3" when seed % 8 === 0, runtime path when
 * seed % 10 === 3. Deterministic in `seed`.
 */
export function generateCase(seed: number): FuzzCase {
  const r = new Rand(seed);
  const g = new Gen(r);
  const nIn = r.chance(0.8) ? 1 : 2;
  for (let i = 0; i < nIn; i++) {
    const shape = i > 0 && r.chance(0.5) ? (g.pool[0]!.type.shape.slice(1) as number[]) : randomInputShape(r);
    const id = g.b.input(`in${i}`, "f32", shape);
    g.pool.push({ id, type: g.b.typeOf(id) });
    g.steps.push(`${id} = input in${i} ${show(g.b.typeOf(id))}`);
  }
  const want = r.int(2, 9);
  let added = 0;
  for (let tries = 0; added < want && tries < 200; tries++) if (g.step()) added++;
  const acts = g.pool.slice(nIn);
  const last = g.pool[g.pool.length - 1]!;
  g.b.output("out0", last.id);
  const outs = [`out0=${last.id}`];
  const extra = r.chance(0.3) ? r.int(1, 2) : 0;
  for (let k = 0; k < extra && acts.length > 0; k++) {
    const v = r.pick(acts);
    g.b.output(`out${k + 1}`, v.id);
    outs.push(`out${k + 1}=${v.id}`);
  }
  if (r.chance(0.05)) {
    // A graph input that is also an output (pinned, copied out unchanged).
    g.b.output(`out${outs.length}`, g.pool[0]!.id);
    outs.push(`out${outs.length}=${g.pool[0]!.id}`);
  }
  g.steps.push(`outputs ${outs.join(" ")}`);
  const graph = g.b.build();

  const weights = initWeights(graph, seed);
  // Nonzero batchnorm statistics and affine params (initWeights gives the identity transform).
  for (const [name, w] of weights) {
    const suffix = name.slice(name.indexOf(".") + 1);
    const isBn = graph.nodes.some((n) => n.op === "batchnorm" && n.layer === name.slice(0, name.indexOf(".")));
    if (!isBn) continue;
    const range = { weight: [0.5, 1.5], bias: [-0.5, 0.5], running_mean: [-0.5, 0.5], running_var: [0.2, 2] }[suffix];
    if (range) for (let i = 0; i < w.data.length; i++) w.data[i] = r.f32(range[0]!, range[1]!);
  }
  const b1 = r.pick(FUZZ_BATCHES);
  const b2 = r.pick(FUZZ_BATCHES);
  return { seed, graph, steps: g.steps, batches: [b1, b2], weights, optimize: seed % 8 === 0 ? "O3" : "none", checkRuntime: seed % 10 === 3 };
}

/** Random f32 inputs in [-2, 2) for every graph input at `batch` (seeded by case seed and batch). */
export function caseInputs(c: FuzzCase, batch: number): Record<string, Float32Array> {
  const r = new Rand((c.seed * 7919 + batch) >>> 0);
  const out: Record<string, Float32Array> = {};
  for (const i of c.graph.inputs) {
    const n = elementsPerSample(c.graph.values[i.value]!.type) * batch;
    const data = Float32Array.from({ length: n }, () => r.f32(-2, 2));
    if (c.inputs === "special")
      for (let k = r.int(1, 3); k > 0; k--) data[r.int(0, n - 1)] = r.pick([NaN, Infinity, -Infinity, 1e30, -1e30, -0]);
    out[i.name] = data;
  }
  return out;
}

/** Float64 reference outputs (on the unoptimized graph, dropout = identity). */
export function caseReference(c: FuzzCase, inputs: Record<string, Float32Array>, batch: number): Record<string, RefTensor> {
  const ref: Record<string, RefTensor> = {};
  for (const i of c.graph.inputs) {
    const shape = c.graph.values[i.value]!.type.shape.map((d) => (d === "N" ? batch : d));
    ref[i.name] = { shape, data: Float64Array.from(inputs[i.name]!) };
  }
  return runReference(c.graph, c.weights, ref, { batch });
}

/** A runnable build: outputs by name for inputs at a batch. */
type Runner = (inputs: Record<string, Float32Array>, batch: number) => Record<string, Float32Array>;

/** Instantiate per the ABI of runtime/manifest.ts: copy the weights blob if not embedded, grow, write, run. */
async function instantiate(res: EmitResult, embedded: boolean): Promise<Runner> {
  const { instance } = await WebAssembly.instantiate(res.wasm as Uint8Array<ArrayBuffer>, {});
  const memory = instance.exports["memory"] as WebAssembly.Memory;
  const run = instance.exports["run"] as (b: number) => void;
  if (!embedded) new Uint8Array(memory.buffer).set(res.weights.blob, res.weights.offset);
  return (inputs, batch) => {
    const need = res.memory.activationBase + res.memory.bytesPerSample * batch;
    if (memory.buffer.byteLength < need) memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
    const base = res.memory.activationBase;
    for (const io of res.inputs) new Float32Array(memory.buffer, base + io.offsetPerSample * batch, io.elementsPerSample * batch).set(inputs[io.name]!);
    run(batch);
    const out: Record<string, Float32Array> = {};
    for (const io of res.outputs)
      out[io.name] = new Float32Array(memory.buffer, base + io.offsetPerSample * batch, io.elementsPerSample * batch).slice();
    return out;
  };
}

/** The worst element of one comparison. */
export interface Mismatch {
  variant: string;
  batch: number;
  output: string;
  /** Multi-index [n, ...] of the element. */
  index: number[];
  expected: number;
  got: number;
  /** |got - expected| / (FUZZ_TOLERANCE * max(1, |expected|)); > 1 is a failure (Infinity for NaN/length). */
  ratio: number;
}

/** Worst element of `got` against `ref` (ratio as in Mismatch). */
export function compareOutput(got: Float32Array | undefined, ref: RefTensor): { ratio: number; flat: number; got: number; expected: number } {
  if (!got || got.length !== ref.data.length) return { ratio: Infinity, flat: -1, got: got?.length ?? -1, expected: ref.data.length };
  let worst = { ratio: 0, flat: 0, got: got[0] ?? 0, expected: ref.data[0] ?? 0 };
  for (let i = 0; i < got.length; i++) {
    const e = ref.data[i]!;
    const v = got[i]!;
    let ratio: number;
    if (Number.isNaN(e) || Number.isNaN(v)) ratio = Number.isNaN(e) && Number.isNaN(v) ? 0 : Infinity;
    else if (!Number.isFinite(e) || !Number.isFinite(v)) ratio = e === v ? 0 : Infinity;
    else ratio = Math.abs(v - e) / (FUZZ_TOLERANCE * Math.max(1, Math.abs(e)));
    if (ratio > worst.ratio) worst = { ratio, flat: i, got: v, expected: e };
  }
  return worst;
}

function unflatten(flat: number, shape: number[]): number[] {
  const idx = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = flat % shape[d]!;
    flat = Math.floor(flat / shape[d]!);
  }
  return idx;
}

/** Builds of one case to compare: name -> runner. */
async function builds(c: FuzzCase, g: Graph): Promise<[string, Runner][]> {
  const optimize = c.optimize === "O3";
  const simd = emitWasm(g, c.weights, { simd: true, embedWeights: true, optimize });
  const scalar = emitWasm(g, c.weights, { simd: false, embedWeights: false, optimize });
  const out: [string, Runner][] = [
    [`simd ${c.optimize}`, await instantiate(simd, true)],
    [`scalar ${c.optimize}`, await instantiate(scalar, false)],
  ];
  if (optimize) out.push(["simd none", await instantiate(emitWasm(g, c.weights, { simd: true, embedWeights: true, optimize: false }), true)]);
  if (c.checkRuntime) {
    const art = buildArtifact({ name: "fuzz", graph: g, simd, scalar, compilerVersion: "fuzz", flopsPerSample: 0, ops: g.nodes.length });
    const model = await loadModel(art.files.get("fuzz.wasm") as Uint8Array, { simd: "force" });
    out.push(["runtime loadModel", (inputs, batch) => model.run(inputs, { batch, nan: "allow" }) as Record<string, Float32Array>]); // --special feeds NaN on purpose
  }
  return out;
}

/**
 * Compile `c` as the compiler does (optimizeGraph infer, then emitWasm SIMD + scalar, optionally
 * unoptimized and through the runtime), run each build at both batches on one instance, and return
 * the worst element over all outputs (ratio <= 1 means pass). Emission or run errors are thrown.
 */
export async function checkCase(c: FuzzCase): Promise<Mismatch> {
  const g = optimizeGraph(c.graph, { mode: "infer" });
  const runs = await builds(c, g);
  let worst: Mismatch = { variant: "", batch: 0, output: "", index: [], expected: 0, got: 0, ratio: 0 };
  for (const batch of c.batches) {
    const inputs = caseInputs(c, batch);
    const ref = caseReference(c, inputs, batch);
    for (const [variant, run] of runs) {
      const out = run(inputs, batch);
      for (const [name, t] of Object.entries(ref)) {
        const w = compareOutput(out[name], t);
        if (w.ratio > worst.ratio)
          worst = { variant, batch, output: name, index: w.flat < 0 ? [] : unflatten(w.flat, t.shape), expected: w.expected, got: w.got, ratio: w.ratio };
      }
    }
  }
  return worst;
}

/** Multi-line description of a case (seed, batches, op sequence) and, if given, its worst element. */
export function describeCase(c: FuzzCase, m?: Mismatch): string {
  const lines = [`seed ${c.seed}, batches ${c.batches.join(" then ")}, optimize ${c.optimize}`, ...c.steps.map((s) => "  " + s)];
  if (m)
    lines.push(
      `worst: ${m.variant} batch ${m.batch} output ${m.output}[${m.index.join(",")}]: expected ${m.expected}, got ${m.got} ` +
        `(|err| = ${Math.abs(m.got - m.expected).toExponential(3)}, ${m.ratio.toFixed(2)}x the tolerance ${FUZZ_TOLERANCE}*max(1,|ref|))`,
    );
  return lines.join("\n");
}

/**
 * Localize a failure: re-emit the optimized graph with every node output as a graph output (same
 * variant and batch), and name the first node whose own output disagrees while its inputs agree;
 * then rerun that node alone (its activation inputs become graph inputs). Returns a report, or a note
 * that the failure vanishes when all values are outputs (memory-plan dependent).
 */
export async function localize(c: FuzzCase, m: Mismatch): Promise<string> {
  const g = structuredClone(optimizeGraph(c.graph, { mode: "infer" }));
  g.outputs = g.nodes.flatMap((n) => n.outputs.map((o) => ({ name: `at_${o}`, value: o })));
  const all: FuzzCase = { ...c, graph: g, batches: [m.batch, m.batch], checkRuntime: false, optimize: m.variant.endsWith("O3") ? "O3" : "none" };
  const simd = m.variant.startsWith("simd") || m.variant.startsWith("runtime");
  const res = emitWasm(g, c.weights, { simd, embedWeights: true, optimize: all.optimize === "O3" });
  const run = await instantiate(res, true);
  const inputs = caseInputs(c, m.batch);
  const ref = caseReference(all, inputs, m.batch);
  const out = run(inputs, m.batch);
  const lines: string[] = [];
  for (const n of g.nodes) {
    const o = n.outputs[0]!;
    const w = compareOutput(out[`at_${o}`], ref[`at_${o}`]!);
    if (w.ratio <= 1) continue;
    const shape = ref[`at_${o}`]!.shape;
    lines.push(
      `first bad node: ${n.op} ${n.inputs.map((i) => `${i} ${show(g.values[i]!.type)}`).join(", ")} ${fmtAttrs(n.attrs)} -> ${show(g.values[o]!.type)}`,
      `  at [${w.flat < 0 ? "" : unflatten(w.flat, shape).join(",")}]: expected ${w.expected}, got ${w.got} (${w.ratio.toFixed(1)}x tolerance), ${m.variant}, batch ${m.batch}`,
    );
    // The node alone: activation inputs as graph inputs, same params and attrs.
    const b = new GraphBuilder("one");
    const ids = n.inputs.map((i, k) => {
      const v = g.values[i]!;
      if (v.kind === "activation" || v.kind === "input") return b.input(`x${k}`, "f32", v.type.shape.slice(1) as number[]);
      if (v.kind === "const") return b.constant(v.type.shape as number[], v.data ?? []);
      return b.param(v.name!, v.type.shape as number[], v.init!, v.kind as "param" | "state");
    });
    const [y] = b.node(n.op, ids, n.attrs);
    b.output("y", y!);
    const one: FuzzCase = { ...all, graph: b.build(), steps: [] };
    const m1 = await checkCase(one);
    lines.push(
      m1.ratio > 1
        ? `  alone it fails too: ${m1.variant} batch ${m1.batch} y[${m1.index.join(",")}] expected ${m1.expected}, got ${m1.got}`
        : `  alone it passes (worst ${m1.ratio.toFixed(2)}x): depends on the surrounding graph (memory plan / input values)`,
    );
    return lines.join("\n");
  }
  return "no single node disagrees when every value is an output: the failure depends on the memory plan (buffer reuse/aliasing)";
}
