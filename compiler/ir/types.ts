// Graph IR: the strongly typed, JSON-serializable graph every stage after the front end works on.
// Neighbours: frontend/lower.ts builds it, ir/ops/* defines each op once, passes/* rewrite it,
// interp/reference.ts runs it in float64, backend/wasm/* emits it. spec/ir.schema.json describes it.

/**
 * Element types. `f32` and `i32` are the v1 run-time types; `i8`/`u8` are reserved for int8
 * quantization (values carry a `quant` record then); `f64` appears only in the reference interpreter.
 */
export type DType = "f32" | "i32" | "i8" | "u8";

/**
 * One dimension of a tensor type: a static size, or `"N"`, the dynamic batch dimension.
 * `"N"` may only appear at axis 0 of activation values (never on parameters).
 */
export type Dim = number | "N";

/** Affine quantization record (ONNX QuantizeLinear semantics): real = scale * (q - zero_point). */
export interface QuantParams {
  /** One scale per tensor, or per channel along `axis` when `per_channel`. */
  scale: number[];
  zero_point: number[];
  /** Channel axis for per-channel quantization; absent for per-tensor. */
  axis?: number;
}

/** Static type of a value: dtype and shape (batch dimension symbolic as "N"). Layout is NCHW for images. */
export interface TensorType {
  dtype: DType;
  shape: Dim[];
  quant?: QuantParams;
}

/** Where a value comes from. `param` = trainable weight, `state` = non-trainable buffer (e.g. running_mean). */
export type ValueKind = "input" | "param" | "state" | "const" | "activation";

/** A 1-based line/column range in a `.model` source file. `end` is exclusive. */
export interface SourceLoc {
  file: string;
  line: number;
  col: number;
  endLine?: number;
  endCol?: number;
  /** Absolute character offsets, when known (used for carets). */
  offset?: number;
  endOffset?: number;
}

/** Initializer for a parameter created without loaded weights (PyTorch default initializers). */
export type InitSpec =
  | { kind: "uniform"; low: number; high: number }
  /** `zeroRow`: that row of axis 0 is zeroed after sampling (nn.Embedding padding_idx). */
  | { kind: "normal"; mean: number; std: number; zeroRow?: number }
  | { kind: "zeros" }
  | { kind: "ones" };

/** One SSA value of the graph. */
export interface ValueInfo {
  id: string;
  type: TensorType;
  kind: ValueKind;
  /** Parameter/state name in PyTorch state_dict form (e.g. "fc1.weight"), input or output name. */
  name?: string;
  /** For kind "param"/"state": how to initialize without loaded weights. */
  init?: InitSpec;
  /** For kind "const": the literal data (row-major), small tensors only. */
  data?: number[];
  /** Where in the source this value was produced. */
  loc?: SourceLoc;
}

/** Attribute values are JSON: numbers, strings, booleans, arrays of numbers. */
export type AttrValue = number | string | boolean | number[];
export type Attrs = Record<string, AttrValue>;

/** In which graph mode a node runs. "train" nodes are removed from inference graphs. */
export type NodeMode = "both" | "train" | "infer";

/** One operation. `op` names an entry of the op table (ir/ops). Inputs/outputs are value ids. */
export interface Node {
  id: string;
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Attrs;
  /** The layer name the user gave (e.g. "stage1.conv"), if any. */
  layer?: string;
  mode?: NodeMode;
  loc?: SourceLoc;
}

/** A named graph output; `loss` etc. will be attached here by training (issue 3). */
export interface GraphOutput {
  name: string;
  value: string;
}

/** A named graph input. */
export interface GraphInput {
  name: string;
  value: string;
}

/**
 * The whole graph. Nodes are kept in a valid topological order.
 * Invariant: every value id used by a node is in `values`; every value has at most one producer.
 */
export interface Graph {
  /** IR format version, bumped on incompatible changes. */
  irVersion: 1;
  name: string;
  inputs: GraphInput[];
  outputs: GraphOutput[];
  values: Record<string, ValueInfo>;
  nodes: Node[];
}

/** A dense float64 tensor for the reference interpreter (row-major, shape fully concrete). */
export interface RefTensor {
  shape: number[];
  data: Float64Array;
}

/** A named weight tensor, f32, row-major, shape concrete (PyTorch layout). */
export interface WeightTensor {
  shape: number[];
  data: Float32Array;
}

/** Parameters and state by their state_dict name ("fc1.weight"). */
export type WeightMap = Map<string, WeightTensor>;
