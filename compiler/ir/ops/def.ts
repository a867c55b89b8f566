// The shape of one op-table entry: signature, language arguments, shape rule, float64 reference,
// cost, and (issue 3) gradient rule. Neighbours: ops/index.ts collects entries; frontend/lower.ts,
// interp/reference.ts, backend/wasm/* and spec generation all read the table.

import type { Attrs, AttrValue, InitSpec, RefTensor, TensorType } from "../types.js";

/** Kinds of a language-level argument of an op (what a `.model` call may pass). */
export type ArgKind = "int" | "float" | "bool" | "string" | "ints" | "int_or_ints" | "padding";

/** One language-level argument, e.g. `stride` of conv2d. */
export interface ArgSpec {
  name: string;
  kind: ArgKind;
  /** Default when omitted; `undefined` = required. */
  default?: AttrValue;
  /** For kind "string": the allowed values. */
  choices?: string[];
  /**
   * True when the argument may be omitted although it has no fixed default: `normalize` then
   * derives it (e.g. pool `stride` defaults to `kernel`, like PyTorch's `stride=None`).
   */
  optional?: boolean;
  doc: string;
}

/** A parameter (weight/state tensor) an op creates for its layer, e.g. dense's "weight" [out, in]. */
export interface ParamSpec {
  /** Suffix after the layer name: "weight", "bias", "running_mean", ... */
  suffix: string;
  shape: number[];
  kind: "param" | "state";
  init: InitSpec;
}

/** A type/shape error from an op rule; lowering turns it into a diagnostic at the call site. */
export class OpTypeError extends Error {
  constructor(
    message: string,
    /** Optional hint shown under the caret. */
    public readonly hint?: string,
    /** Index of the offending input, to point at where that input came from. */
    public readonly inputIndex?: number,
  ) {
    super(message);
    this.name = "OpTypeError";
  }
}

/**
 * An argument whose value is out of range (kernel 0, dropout p=1.5, groups not dividing the
 * channels). Lowering reports it as E0404 at the argument named `arg`.
 */
export class OpArgError extends OpTypeError {
  constructor(
    message: string,
    /** The language argument at fault, e.g. "groups". */
    public readonly arg: string,
    hint?: string,
  ) {
    super(message, hint);
    this.name = "OpArgError";
  }
}

/** An input with the wrong element type (e.g. i32 into dense). Lowering reports it as E0502. */
export class OpDTypeError extends OpTypeError {
  constructor(message: string, hint?: string, inputIndex?: number) {
    super(message, hint, inputIndex);
    this.name = "OpDTypeError";
  }
}

/**
 * One named activation input of an op that declares them (`OpDef.inputs`), e.g. multihead_attention's
 * `key_value`. A call may give it positionally or by keyword.
 */
export interface InputSpec {
  name: string;
  doc: string;
  /**
   * What an omitted input becomes: "drop" = the node has no such input (only trailing inputs; the op
   * tells by the input count), or the name of an earlier input whose value it reuses (same value id:
   * autodiff then accumulates both gradients). Absent = required.
   */
  ifMissing?: "drop" | string;
}

/** Cost of one node at a concrete batch size. */
export interface OpCost {
  /** Floating point operations (a multiply-add counts 2). */
  flops: number;
  /** Bytes read + written (inputs, params, outputs), f32 = 4 bytes. */
  bytes: number;
}

/**
 * One op, defined once. Tensor inputs of a node are ordered: activations first, then the params
 * listed by `params` in order (e.g. dense: [x, weight, bias?]).
 */
export interface OpDef {
  /** IR and language name, e.g. "conv2d". */
  name: string;
  /** One-line description for the spec and `--help`. */
  doc: string;
  /** Whose semantics it follows, e.g. "PyTorch torch.nn.Conv2d (NCHW)". */
  semantics: string;
  /** Number of activation (non-param) tensor inputs; "variadic" = 1 or more (concat). */
  arity: number | "variadic";
  /**
   * Named activation inputs (length = `arity`, a number) when some are optional or callable by keyword;
   * absent = all required, named x / x0, x1, ... Nodes then have between `minArity` and `arity` activations.
   */
  inputs?: InputSpec[];
  /** Fewest activation inputs a node may have (default `arity`): trailing "drop" inputs left out. */
  minArity?: number;
  /** Language-level arguments in positional order. */
  args: ArgSpec[];
  /**
   * Turn the language arguments (defaults filled, kinds checked) and input types into the
   * normalized IR attrs (e.g. conv2d padding "same" -> [t, l, b, r]). Throws OpTypeError.
   */
  normalize?(args: Attrs, inputs: TensorType[]): Attrs;
  /** Params this op creates for its layer (none for activations). Throws OpTypeError. */
  params?(inputs: TensorType[], attrs: Attrs): ParamSpec[];
  /**
   * Shape/dtype rule: output types from input types (activations then params) and IR attrs.
   * Throws OpTypeError with a message that shows the offending shapes.
   */
  infer(inputs: TensorType[], attrs: Attrs): TensorType[];
  /** Float64 reference implementation; inputs as in `infer`, shapes concrete. */
  reference(inputs: RefTensor[], attrs: Attrs): RefTensor[];
  /** Cost at a concrete batch size (shapes with "N" replaced by `batch`). */
  cost(inputs: TensorType[], outputs: TensorType[], attrs: Attrs, batch: number): OpCost;
  /** Ops that only run in training graphs (dropout) are rewritten or removed for inference. */
  trainOnly?: boolean;
  /**
   * IR-only op made by compiler passes (autodiff gradients, losses, optimizer updates): not callable
   * from `.model` source. Default false. (Lowering should refuse these names.)
   */
  internal?: boolean;
}
