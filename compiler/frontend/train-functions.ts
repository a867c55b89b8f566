// Tables of the train section: its keys and defaults, the data-source/loss/optimizer/... names and the
// parameters of every train-section function. Neighbours: train-calls.ts (binds calls to these), lower-train.ts.

import type { AttrValue, Graph, SourceLoc } from "../ir/types.js";
import type { RelatedLoc } from "../diagnostics.js";
import type { Expr, NameRef } from "./ast.js";
import type { TrainScheduleSpec, TrainSplitSpec } from "../train/spec.js";

/** Every key a train section accepts (`loss` may repeat, once per loss name). */
export const TRAIN_KEYS = [
  "data",
  "split",
  "loss",
  "optimizer",
  "schedule",
  "clip_grad_norm",
  "batch_size",
  "epochs",
  "seed",
  "metrics",
  "early_stopping",
  "augment",
  "field",
  "freeze",
  "trainable",
  "heads",
] as const;

/** Keys without a default. */
export const REQUIRED_TRAIN_KEYS = ["data", "loss", "optimizer"] as const;

/**
 * Defaults of the optional entries: split [0.8, 0.1, 0.1] (fractions), batch_size 32, epochs 10, seed 0,
 * schedule constant(), metrics [], augment []; no clip_grad_norm, no early_stopping.
 */
export const TRAIN_DEFAULTS = {
  split: { train: 0.8, validation: 0.1, test: 0.1, unit: "fraction" } as TrainSplitSpec,
  batch_size: 32,
  epochs: 10,
  seed: 0,
  schedule: { kind: "constant" } as TrainScheduleSpec,
};

/** Per-sample type of a data field when the source says it; `classes`: an i32 class field's values are in [0, classes). */
export interface KnownField {
  dtype: "f32" | "i32";
  shape: number[];
  classes?: number;
}

/** Per-sample fields of `mnist()` (compiler/data/mnist.ts): NCHW image in [0, 1] and the class index. */
export const MNIST_FIELDS: Record<string, KnownField> = {
  image: { dtype: "f32", shape: [1, 28, 28] },
  label: { dtype: "i32", shape: [], classes: 10 },
};

/** Per-sample fields of `mnist_vqa()` (compiler/data/vqa.ts): mnist's plus a template question and its yes/no answer. */
export const VQA_FIELDS: Record<string, KnownField> = {
  ...MNIST_FIELDS,
  question: { dtype: "i32", shape: [5] },
  answer: { dtype: "i32", shape: [], classes: 2 },
  question_id: { dtype: "i32", shape: [], classes: 30 },
};

export const DATA_SOURCES = ["mnist", "npz", "npy", "csv", "safetensors", "mnist_vqa"] as const;
export const LOSSES = ["mse", "cross_entropy", "binary_cross_entropy", "kl_divergence", "gaussian_kl"] as const;
export const OPTIMIZERS = ["sgd", "momentum", "adam", "adamw"] as const;
export const SCHEDULES = ["constant", "step", "cosine"] as const;
export const METRICS = ["accuracy"] as const;
export const AUGMENTS = ["shift", "rotate"] as const;
/** Derived data fields (`field NAME = relabel(label, [..])`), computed by the driver (data/derived.ts). */
export const DERIVED_FIELDS = ["relabel", "mod", "greater"] as const;
/** Loss weight schedules over epochs (`weight=warmup(1.0, epochs=5)`), train/schedule.ts lossWeight. */
export const WEIGHT_SCHEDULES = ["warmup", "ramp"] as const;

/** Kinds of function arguments; "name" is a bare identifier (model value or data field). */
export type ParamKind = "float" | "int" | "bool" | "string" | "floats" | "ints" | "name" | "expr";

/** One parameter of a train-section function, in positional order. */
export interface Param {
  name: string;
  kind: ParamKind;
  /** Absent: required. */
  default?: AttrValue;
  choices?: string[];
  /** Range check: a message ("must be > 0") when the value is out of range. */
  range?: (v: AttrValue) => string | undefined;
}

export const positive = (v: AttrValue): string | undefined => ((v as number) > 0 ? undefined : "must be > 0");
export const nonNegative = (v: AttrValue): string | undefined => ((v as number) >= 0 ? undefined : "must be >= 0");
export const atLeast1 = (v: AttrValue): string | undefined => ((v as number) >= 1 ? undefined : "must be >= 1");
export const unit = (lo: "[" | "(", v: number): boolean => (lo === "[" ? v >= 0 : v > 0) && v < 1;
export const weightDecay: Param = { name: "weight_decay", kind: "float", default: 0, range: nonNegative };
export const ADAM: Param[] = [
  { name: "lr", kind: "float", default: 0.001, range: positive },
  {
    name: "betas",
    kind: "floats",
    default: [0.9, 0.999],
    range: (v) => ((v as number[]).length === 2 && (v as number[]).every((b) => unit("[", b)) ? undefined : "must be two numbers in [0, 1)"),
  },
  { name: "eps", kind: "float", default: 1e-8, range: positive },
];

/** Arguments of every function a train section may call (spec/training.md §1), by family. */
export const FUNCTIONS: Record<string, Param[]> = {
  // optimizers (PyTorch torch.optim defaults)
  sgd: [{ name: "lr", kind: "float", range: positive }, weightDecay],
  momentum: [
    { name: "lr", kind: "float", range: positive },
    { name: "momentum", kind: "float", default: 0.9, range: (v) => (unit("[", v as number) ? undefined : "must be in [0, 1)") },
    { name: "dampening", kind: "float", default: 0, range: (v) => ((v as number) >= 0 && (v as number) <= 1 ? undefined : "must be in [0, 1]") },
    { name: "nesterov", kind: "bool", default: false },
    weightDecay,
  ],
  adam: [...ADAM, weightDecay],
  adamw: [...ADAM, { ...weightDecay, default: 0.01 }],
  // schedules
  constant: [],
  step: [
    { name: "step_size", kind: "int", range: atLeast1 },
    { name: "gamma", kind: "float", default: 0.1, range: positive },
  ],
  cosine: [
    { name: "warmup_epochs", kind: "int", default: 0, range: nonNegative },
    { name: "min_lr", kind: "float", default: 0, range: nonNegative },
  ],
  // losses: model value, data field, op args, weight
  mse: lossParams([]),
  binary_cross_entropy: lossParams([]),
  cross_entropy: lossParams([
    { name: "label_smoothing", kind: "float", default: 0, range: (v) => (unit("[", v as number) ? undefined : "must be in [0, 1)") },
  ]),
  kl_divergence: lossParams([], ["mean", "sum", "batchmean"], [{ name: "log_target", kind: "bool", default: false }]),
  // gaussian_kl(mu, logvar): both arguments are model values (train-losses.ts valuePairIO)
  gaussian_kl: lossParams([]),
  // metrics, early stopping, augmentations
  accuracy: [
    { name: "input", kind: "name" },
    { name: "target", kind: "name" },
  ],
  early_stopping: [
    { name: "patience", kind: "int", default: 3, range: atLeast1 },
    { name: "min_delta", kind: "float", default: 0, range: nonNegative },
  ],
  shift: [{ name: "pixels", kind: "int", range: nonNegative }],
  rotate: [{ name: "degrees", kind: "float", range: nonNegative }],
  // derived i32 fields: source field, then the mapping
  relabel: [
    { name: "source", kind: "name" },
    { name: "table", kind: "ints", range: (v) => ((v as number[]).length > 0 && (v as number[]).every((x) => x >= 0) ? undefined : "must be a non-empty list of ints >= 0") },
  ],
  mod: [
    { name: "source", kind: "name" },
    { name: "divisor", kind: "int", range: atLeast1 },
  ],
  greater: [
    { name: "source", kind: "name" },
    { name: "threshold", kind: "float" },
  ],
  // loss weight schedules (per epoch, 1-based)
  warmup: [
    { name: "value", kind: "float", range: nonNegative },
    { name: "epochs", kind: "int", range: atLeast1 },
  ],
  ramp: [
    { name: "start", kind: "float", range: nonNegative },
    { name: "end", kind: "float", range: nonNegative },
    { name: "epochs", kind: "int", range: atLeast1 },
  ],
};

/** Loss arguments in positional order: input, target, `before`, reduction, `after`, weight. */
export function lossParams(before: Param[], reductions = ["mean", "sum"], after: Param[] = []): Param[] {
  return [
    { name: "input", kind: "name" },
    { name: "target", kind: "name" },
    ...before,
    { name: "reduction", kind: "string", default: "mean", choices: reductions },
    ...after,
    // a number or a schedule warmup(...) / ramp(...): checked by train-losses.ts
    { name: "weight", kind: "expr", default: 1 },
  ];
}

/** Bound arguments of one call: checked literal values (defaults filled) and the bare names. */
export interface BoundCall {
  values: Record<string, AttrValue>;
  names: Record<string, NameRef>;
  /** Arguments of kind "expr", unchecked (the caller checks them). */
  exprs: Record<string, Expr>;
  callee: string;
  loc: SourceLoc;
}

export const KIND_NAMES: Record<ParamKind, string> = {
  float: "a number",
  int: "an int",
  bool: "true or false",
  string: "a string",
  floats: "a list of numbers",
  ints: "a list of ints",
  expr: "an expression",
  name: "a name",
};

/** The literal value of `e` for a parameter kind, or undefined when it is not of that kind. */
export function literal(kind: ParamKind, e: Expr): AttrValue | undefined {
  switch (kind) {
    case "float":
      return e.kind === "number" ? e.value : undefined;
    case "int":
      return e.kind === "number" && e.isInt ? e.value : undefined;
    case "bool":
      return e.kind === "bool" ? e.value : undefined;
    case "string":
      return e.kind === "string" ? e.value : undefined;
    case "floats":
      return e.kind === "list" && e.items.every((i) => i.kind === "number") ? e.items.map((i) => (i as { value: number }).value) : undefined;
    case "ints":
      return e.kind === "list" && e.items.every((i) => i.kind === "number" && i.isInt) ? e.items.map((i) => (i as { value: number }).value) : undefined;
    case "name":
    case "expr":
      return undefined;
  }
}

/** "an int", "a string", "a call to 'adam'", "name 'h'" ... for "got ..." messages. */
export function describeExpr(e: Expr): string {
  switch (e.kind) {
    case "number":
      return e.isInt ? `an int (${e.value})` : `a float (${e.value})`;
    case "string":
      return `a string "${e.value}"`;
    case "bool":
      return `${e.value}`;
    case "list":
      return "a list";
    case "name":
      return `name '${e.name}'`;
    case "call":
      return `a call to '${e.callee.text}'`;
    default:
      return "an expression";
  }
}

export function showParam(p: Param): string {
  return p.default === undefined ? p.name : `${p.name}=${JSON.stringify(p.default)}`;
}

export function sameShape(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function valueLoc(g: Graph, id: string, message: string): RelatedLoc[] | undefined {
  const loc = g.values[id]?.loc;
  return loc ? [{ loc, message }] : undefined;
}
