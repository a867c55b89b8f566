// exportOnnx: an optimized inference graph and its weights as an ONNX model (opset 17, IR version 8), one
// ONNX node (or a short composition) per modelc op. Neighbours: export/onnx-schema.ts (protobuf messages), export/onnx-seq.ts (sequence ops),
// cli/export.ts (`modelc export --onnx`), ir/attrs.ts (the attrs read here), bench/ (runs the result in onnxruntime).

import type { Graph, Node, TensorType, ValueInfo, WeightMap } from "../ir/types.js";
import { ONNX_ATTR, ONNX_DTYPE, modelProtoType } from "./onnx-schema.js";
import { SEQ_LOWERINGS } from "./onnx-seq.js";
import { removeDropout } from "../passes/remove-dropout.js";
import { eliminateDeadCode } from "../passes/dce.js";

/** The ONNX opset modelc writes (LayerNormalization needs 17; GELU is written as its Erf/Tanh composition). */
export const ONNX_OPSET = 17;
/** The ONNX IR version that goes with opset 17 (ONNX 1.12). */
export const ONNX_IR_VERSION = 8;

/** Options of exportOnnx. */
export interface OnnxExportOptions {
  /** ModelProto.producer_version (default "0"). */
  producerVersion?: string;
  /** ModelProto.doc_string (default: none). */
  docString?: string;
}

/** A graph that cannot be written as ONNX: names the op (and layer) that has no ONNX mapping. */
export class OnnxExportError extends Error {
  constructor(
    message: string,
    readonly op?: string,
  ) {
    super(message);
    this.name = "OnnxExportError";
  }
}

type AttrOut = { name: string; type: number; f?: number; i?: number; s?: Uint8Array; floats?: number[]; ints?: number[] };
type NodeOut = { input: string[]; output: string[]; name: string; op_type: string; attribute: AttrOut[] };
type TensorOut = { name: string; dims: number[]; data_type: number; raw_data: Uint8Array };

const int = (name: string, i: number): AttrOut => ({ name, type: ONNX_ATTR.INT, i });
const ints = (name: string, v: readonly number[]): AttrOut => ({ name, type: ONNX_ATTR.INTS, ints: [...v] });
const float = (name: string, f: number): AttrOut => ({ name, type: ONNX_ATTR.FLOAT, f });

/** Little-endian bytes of f32 or i32 data (ONNX raw_data is always little-endian). */
function leBytes(data: ArrayLike<number>, dtype: "f32" | "i32" | "i64"): Uint8Array {
  const size = dtype === "i64" ? 8 : 4;
  const out = new Uint8Array(data.length * size);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    if (dtype === "f32") view.setFloat32(i * 4, data[i]!, true);
    else if (dtype === "i32") view.setInt32(i * 4, data[i]!, true);
    else view.setBigInt64(i * 8, BigInt(data[i]!), true);
  }
  return out;
}

function onnxDType(t: TensorType, what: string): number {
  if (t.dtype === "f32") return ONNX_DTYPE.FLOAT;
  if (t.dtype === "i32") return ONNX_DTYPE.INT32;
  throw new OnnxExportError(`${what} has dtype ${t.dtype}, which modelc does not export to ONNX (f32 and i32 only)`);
}

/** Builds the node list, initializers and names of one ONNX graph. */
class OnnxBuilder {
  readonly nodes: NodeOut[] = [];
  readonly initializers: TensorOut[] = [];
  private readonly used = new Set<string>();
  private readonly nodeNames = new Set<string>();
  /** ONNX name of each value id named so far. */
  readonly names = new Map<string, string>();

  constructor(
    readonly graph: Graph,
    readonly weights: WeightMap,
  ) {}

  /** A fresh tensor/node name based on `base`. */
  fresh(base: string): string {
    let name = base;
    for (let k = 1; this.used.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }

  /** Give value `id` a fresh ONNX name based on `name`. */
  bind(id: string, name: string): string {
    this.names.set(id, this.fresh(name));
    return this.names.get(id)!;
  }

  /** Record that value `id` is the (already reserved) ONNX name `name`. */
  private named(id: string, name: string): string {
    this.names.set(id, name);
    return name;
  }

  /** Reserve exactly `name` (a graph input or output name); throws when two of them collide. */
  claim(name: string): string {
    if (this.used.has(name)) throw new OnnxExportError(`the ONNX graph would have two values named '${name}'`);
    this.used.add(name);
    return name;
  }

  /** The ONNX name of value `id`: params/state become initializers (state_dict names), consts initializers. */
  name(id: string): string {
    const known = this.names.get(id);
    if (known !== undefined) return known;
    const v = this.value(id);
    if (v.kind === "param" || v.kind === "state") {
      const key = v.name ?? v.id;
      const w = this.weights.get(key);
      if (!w) throw new OnnxExportError(`no weights for ${v.kind} '${key}'`);
      const want = v.type.shape as number[];
      if (w.shape.join(",") !== want.join(","))
        throw new OnnxExportError(`weights '${key}' have shape [${w.shape.join(", ")}], the graph expects [${want.join(", ")}]`);
      return this.named(id, this.initializer(key, w.shape, w.data, "f32"));
    }
    if (v.kind === "const") {
      if (!v.data) throw new OnnxExportError(`constant ${v.id} has no data`);
      const dt = v.type.dtype === "i32" ? "i32" : "f32";
      return this.named(id, this.initializer(`const_${v.id}`, v.type.shape as number[], v.data, dt));
    }
    throw new OnnxExportError(`value ${id} (${v.kind}) is used before it is produced`);
  }

  value(id: string): ValueInfo {
    const v = this.graph.values[id];
    if (!v) throw new OnnxExportError(`the graph has no value ${id}`);
    return v;
  }

  /** Add an initializer and return its (fresh) name. */
  initializer(base: string, dims: readonly number[], data: ArrayLike<number>, dtype: "f32" | "i32" | "i64"): string {
    const name = this.fresh(base);
    const data_type = dtype === "f32" ? ONNX_DTYPE.FLOAT : dtype === "i32" ? ONNX_DTYPE.INT32 : ONNX_DTYPE.INT64;
    this.initializers.push({ name, dims: [...dims], data_type, raw_data: leBytes(data, dtype) });
    return name;
  }

  /** A scalar f32 constant (rank 0) for elementwise compositions. */
  scalar(base: string, x: number): string {
    return this.initializer(base, [], [x], "f32");
  }

  /** Append a node; `outputs` names are used as given (already fresh). Returns the first output. */
  emit(opType: string, inputs: string[], outputs: string[], attribute: AttrOut[] = [], base?: string): string {
    let name = base ?? opType;
    for (let k = 1; this.nodeNames.has(name); k++) name = `${base ?? opType}_${k}`;
    this.nodeNames.add(name);
    this.nodes.push({ input: inputs, output: outputs, name, op_type: opType, attribute });
    return outputs[0]!;
  }

  /** Append a node with one fresh intermediate output named after `base`. */
  temp(opType: string, inputs: string[], base: string, attribute: AttrOut[] = []): string {
    return this.emit(opType, inputs, [this.fresh(base)], attribute, base);
  }
}

/** One op's ONNX lowering: `ins`/`outs` are the ONNX names of the node's inputs and (pre-named) outputs. */
type Lowering = (b: OnnxBuilder, node: Node, ins: string[], outs: string[], base: string) => void;
/** The builder and lowering types, for export/onnx-seq.ts. */
export type SeqBuilder = OnnxBuilder;
export type SeqLowering = Lowering;

const unaryAs =
  (opType: string): Lowering =>
  (b, _n, ins, outs, base) =>
    void b.emit(opType, [ins[0]!], outs, [], base);

/** GELU (PyTorch nn.GELU): exact x * 0.5 * (1 + erf(x / sqrt 2)), or the tanh form; ONNX Gelu needs opset 20. */
const gelu: Lowering = (b, n, ins, outs, base) => {
  const x = ins[0]!;
  let inner: string;
  if (n.attrs["approximate"] === "tanh") {
    const x3 = b.temp("Mul", [b.temp("Mul", [x, x], `${base}/x2`), x], `${base}/x3`);
    const poly = b.temp("Add", [x, b.temp("Mul", [x3, b.scalar(`${base}/c`, 0.044715)], `${base}/cx3`)], `${base}/poly`);
    inner = b.temp("Tanh", [b.temp("Mul", [poly, b.scalar(`${base}/k`, Math.sqrt(2 / Math.PI))], `${base}/kpoly`)], `${base}/tanh`);
  } else inner = b.temp("Erf", [b.temp("Mul", [x, b.scalar(`${base}/rsqrt2`, Math.SQRT1_2)], `${base}/xs`)], `${base}/erf`);
  const onePlus = b.temp("Add", [inner, b.scalar(`${base}/one`, 1)], `${base}/1p`);
  const half = b.temp("Mul", [x, b.scalar(`${base}/half`, 0.5)], `${base}/halfx`);
  b.emit("Mul", [half, onePlus], outs, [], base);
};

/** dense (nn.Linear): Gemm(x, W, b, transB=1) on [N, in]; MatMul(x, W^T) (+ Add b) on higher ranks. */
const dense: Lowering = (b, n, ins, outs, base) => {
  const rank = b.value(n.inputs[0]!).type.shape.length;
  if (rank === 2) {
    b.emit("Gemm", ins.slice(0, n.attrs["bias"] ? 3 : 2), outs, [int("transB", 1)], base);
    return;
  }
  const wt = b.temp("Transpose", [ins[1]!], `${base}/weight_t`, [ints("perm", [1, 0])]);
  if (!n.attrs["bias"]) {
    b.emit("MatMul", [ins[0]!, wt], outs, [], base);
    return;
  }
  b.emit("Add", [b.temp("MatMul", [ins[0]!, wt], `${base}/matmul`), ins[2]!], outs, [], base);
};

const conv2d: Lowering = (b, n, ins, outs, base) => {
  const a = n.attrs;
  b.emit(
    "Conv",
    ins.slice(0, a["bias"] ? 3 : 2),
    outs,
    [
      ints("kernel_shape", a["kernel"] as number[]),
      ints("strides", a["stride"] as number[]),
      ints("pads", a["padding"] as number[]), // [top, left, bottom, right] = ONNX [x1_begin, x2_begin, x1_end, x2_end]
      ints("dilations", a["dilation"] as number[]),
      int("group", a["groups"] as number),
    ],
    base,
  );
};

const pool =
  (opType: "MaxPool" | "AveragePool"): Lowering =>
  (b, n, ins, outs, base) => {
    const a = n.attrs;
    const attrs = [
      ints("kernel_shape", a["kernel"] as number[]),
      ints("strides", a["stride"] as number[]),
      ints("pads", a["padding"] as number[]),
      int("ceil_mode", a["ceil_mode"] ? 1 : 0),
    ];
    if (opType === "MaxPool" && a["dilation"]) attrs.push(ints("dilations", a["dilation"] as number[]));
    if (opType === "AveragePool") attrs.push(int("count_include_pad", a["count_include_pad"] ? 1 : 0));
    b.emit(opType, [ins[0]!], outs, attrs, base);
  };

/** Reshape to [N, ...per-sample dims] (ONNX Reshape: a 0 copies the input's batch dim). */
function reshapeTo(b: OnnxBuilder, x: string, outs: string[], perSample: readonly number[], base: string): void {
  const shape = b.initializer(`${base}/shape`, [perSample.length + 1], [0, ...perSample], "i64");
  b.emit("Reshape", [x, shape], outs, [], base);
}

const flatten: Lowering = (b, n, ins, outs, base) => {
  if (n.attrs["start_dim"] === 1) b.emit("Flatten", [ins[0]!], outs, [int("axis", 1)], base);
  else reshapeTo(b, ins[0]!, outs, b.value(n.outputs[0]!).type.shape.slice(1) as number[], base);
};

const reshape: Lowering = (b, n, ins, outs, base) => reshapeTo(b, ins[0]!, outs, n.attrs["shape"] as number[], base);

const batchnorm: Lowering = (b, n, ins, outs, base) =>
  void b.emit("BatchNormalization", ins.slice(0, 5), outs, [float("epsilon", n.attrs["eps"] as number), float("momentum", 1 - (n.attrs["momentum"] as number))], base);

const layernorm: Lowering = (b, n, ins, outs, base) =>
  void b.emit("LayerNormalization", ins.slice(0, 3), outs, [int("axis", -1), float("epsilon", n.attrs["eps"] as number)], base);

/**
 * The ONNX lowering of every inference op (ir/attrs.ts lists their attrs). An op missing here makes
 * exportOnnx throw OnnxExportError naming it.
 */
const LOWERINGS: Record<string, Lowering> = {
  relu: unaryAs("Relu"),
  sigmoid: unaryAs("Sigmoid"),
  tanh: unaryAs("Tanh"),
  leaky_relu: (b, n, ins, outs, base) => void b.emit("LeakyRelu", [ins[0]!], outs, [float("alpha", n.attrs["alpha"] as number)], base),
  gelu,
  add: (b, _n, ins, outs, base) => void b.emit("Add", [ins[0]!, ins[1]!], outs, [], base),
  mul: (b, _n, ins, outs, base) => void b.emit("Mul", [ins[0]!, ins[1]!], outs, [], base),
  dense,
  conv2d,
  maxpool2d: pool("MaxPool"),
  avgpool2d: pool("AveragePool"),
  global_avgpool2d: unaryAs("GlobalAveragePool"),
  flatten,
  reshape,
  concat: (b, n, ins, outs, base) => void b.emit("Concat", ins, outs, [int("axis", n.attrs["axis"] as number)], base),
  batchnorm,
  layernorm,
  softmax: (b, n, ins, outs, base) => void b.emit("Softmax", [ins[0]!], outs, [int("axis", n.attrs["axis"] as number)], base),
  dropout: unaryAs("Identity"),
  ...SEQ_LOWERINGS,
};

/**
 * The graph to export from a lowered (checkSource) graph: only the portable inference passes, dropout/train-only
 * removal and dead-code elimination, not the whole optimizeGraph pipeline: backend fusions and folds belong to
 * modelc's kernels (onnxruntime does its own), and a folded weight would no longer be the state_dict tensor.
 * Pure: returns a new graph.
 */
export function onnxGraph(lowered: Graph): Graph {
  let g = removeDropout(structuredClone(lowered));
  for (let k = 0; k < 10; k++) {
    const next = eliminateDeadCode(g);
    const same = JSON.stringify(next) === JSON.stringify(g);
    g = next;
    if (same) break;
  }
  return g;
}

/** The modelc ops exportOnnx can write. */
export function onnxExportableOps(): string[] {
  return Object.keys(LOWERINGS).sort();
}

function valueInfo(name: string, t: TensorType, what: string): object {
  const dim = t.shape.map((d) => (d === "N" ? { dim_param: "N" } : { dim_value: d }));
  return { name, type: { tensor_type: { elem_type: onnxDType(t, what), shape: { dim } } } };
}

/**
 * Write `graph` (an inference graph: onnxGraph(lowered), or optimizeGraph(mode "infer") while that adds no fused ops) with `weights` (state_dict names, PyTorch
 * layouts, as compile() binds them) as ONNX ModelProto bytes: opset 17, IR version 8, inputs and outputs by their
 * modelc names with the batch dimension symbolic "N" (f32 -> FLOAT, i32 -> INT32), parameters as initializers
 * under their state_dict names (raw little-endian f32), intermediate shapes in value_info. Semantics of each
 * mapping follow the op's PyTorch reference (ir/attrs.ts); GELU is the Erf (or Tanh) composition.
 * Errors: OnnxExportError for an op without an ONNX mapping (message names the op and its layer), a missing or
 * mis-shaped weight, or a dtype other than f32/i32.
 */
export function exportOnnx(graph: Graph, weights: WeightMap, options: OnnxExportOptions = {}): Uint8Array {
  const b = new OnnxBuilder(graph, weights);
  const unsupported = [...new Set(graph.nodes.filter((n) => !(n.op in LOWERINGS)).map((n) => `'${n.op}'${n.layer ? ` (layer ${n.layer})` : ""}`))];
  if (unsupported.length > 0)
    throw new OnnxExportError(
      `cannot export to ONNX: op ${unsupported.join(", ")} ha${unsupported.length === 1 ? "s" : "ve"} no ONNX mapping (exportable ops: ${onnxExportableOps().join(", ")})`,
      graph.nodes.find((n) => !(n.op in LOWERINGS))!.op,
    );

  const inputs = graph.inputs.map((i) => {
    b.names.set(i.value, b.claim(i.name));
    return valueInfo(i.name, b.value(i.value).type, `input '${i.name}'`);
  });
  // An output produced by a node gives that value its name; an output that is a graph input, a weight, or a
  // second name of a value already named gets an Identity node.
  const producedBy = new Set(graph.nodes.flatMap((n) => n.outputs));
  const identities: { value: string; name: string }[] = [];
  for (const o of graph.outputs) {
    b.claim(o.name);
    if (producedBy.has(o.value) && !b.names.has(o.value)) b.names.set(o.value, o.name);
    else identities.push({ value: o.value, name: o.name });
  }
  const valueInfos: object[] = [];
  for (const n of graph.nodes) {
    const base = n.layer ? `${n.layer}/${n.op}` : `${n.op}_${n.id}`;
    const outs = n.outputs.map((o, k) => {
      const named = b.names.get(o);
      if (named !== undefined) return named;
      const name = b.bind(o, n.outputs.length === 1 ? `${base}:out` : `${base}:out${k}`);
      valueInfos.push(valueInfo(name, b.value(o).type, `output ${k} of op '${n.op}'`));
      return name;
    });
    const ins = n.inputs.map((i) => b.name(i));
    LOWERINGS[n.op]!(b, n, ins, outs, base);
  }
  for (const { value, name } of identities) b.emit("Identity", [b.name(value)], [name], [], `${name}/identity`);
  const outputs = graph.outputs.map((o) => valueInfo(o.name, b.value(o.value).type, `output '${o.name}'`));

  const model = {
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: "", version: ONNX_OPSET }],
    producer_name: "modelc",
    producer_version: options.producerVersion ?? "0",
    ...(options.docString !== undefined ? { doc_string: options.docString } : {}),
    graph: { name: graph.name, node: b.nodes, initializer: b.initializers, input: inputs, output: outputs, value_info: valueInfos },
  };
  const T = modelProtoType();
  const problem = T.verify(model);
  if (problem) throw new Error(`exportOnnx: internal: the ModelProto does not verify: ${problem}`);
  return T.encode(T.fromObject(model)).finish();
}
