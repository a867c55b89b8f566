// Lowering of a model's `train { ... }` section to a checked TrainSpec (spec/training.md §1), with every
// problem as an E08xx/E04xx diagnostic. Neighbours: ast.ts (TrainDecl), lower.ts (graph + bindings), train/spec.ts.

import type { AttrValue, Graph, SourceLoc, TensorType } from "../ir/types.js";
import { diag, hasErrors, type Diagnostic, type DiagnosticCode, type RelatedLoc } from "../diagnostics.js";
import { showShape } from "../ir/graph.js";
import { LOSS_OPS } from "../ir/ops/loss.js";
import { OpTypeError } from "../ir/ops/def.js";
import type { CallExpr, Expr, ModelDecl, NameRef, TrainEntry } from "./ast.js";
import { didYouMean } from "./scope.js";
import type {
  TrainAugmentSpec,
  TrainDataSpec,
  TrainLossSpec,
  TrainMetricSpec,
  TrainOptimizerSpec,
  TrainScheduleSpec,
  TrainSpec,
  TrainSplitSpec,
} from "../train/spec.js";

/** Result of `lowerTrain`: the spec only when the section is free of errors (and the model has one). */
export interface LowerTrainResult {
  spec?: TrainSpec;
  diagnostics: Diagnostic[];
}

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

/** Per-sample fields of `mnist()` (compiler/data/mnist.ts): NCHW image in [0, 1] and the class index. */
export const MNIST_FIELDS: Record<string, { dtype: "f32" | "i32"; shape: number[] }> = {
  image: { dtype: "f32", shape: [1, 28, 28] },
  label: { dtype: "i32", shape: [] },
};

const DATA_SOURCES = ["mnist", "npz", "npy", "csv", "safetensors"] as const;
const LOSSES = ["mse", "cross_entropy", "binary_cross_entropy", "kl_divergence"] as const;
const OPTIMIZERS = ["sgd", "momentum", "adam", "adamw"] as const;
const SCHEDULES = ["constant", "step", "cosine"] as const;
const METRICS = ["accuracy"] as const;
const AUGMENTS = ["shift", "rotate"] as const;

/** Kinds of function arguments; "name" is a bare identifier (model value or data field). */
type ParamKind = "float" | "int" | "bool" | "string" | "floats" | "name";

/** One parameter of a train-section function, in positional order. */
interface Param {
  name: string;
  kind: ParamKind;
  /** Absent: required. */
  default?: AttrValue;
  choices?: string[];
  /** Range check: a message ("must be > 0") when the value is out of range. */
  range?: (v: AttrValue) => string | undefined;
}

const positive = (v: AttrValue): string | undefined => ((v as number) > 0 ? undefined : "must be > 0");
const nonNegative = (v: AttrValue): string | undefined => ((v as number) >= 0 ? undefined : "must be >= 0");
const atLeast1 = (v: AttrValue): string | undefined => ((v as number) >= 1 ? undefined : "must be >= 1");
const unit = (lo: "[" | "(", v: number): boolean => (lo === "[" ? v >= 0 : v > 0) && v < 1;
const weightDecay: Param = { name: "weight_decay", kind: "float", default: 0, range: nonNegative };
const ADAM: Param[] = [
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
const FUNCTIONS: Record<string, Param[]> = {
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
};

/** Loss arguments in positional order: input, target, `before`, reduction, `after`, weight. */
function lossParams(before: Param[], reductions = ["mean", "sum"], after: Param[] = []): Param[] {
  return [
    { name: "input", kind: "name" },
    { name: "target", kind: "name" },
    ...before,
    { name: "reduction", kind: "string", default: "mean", choices: reductions },
    ...after,
    { name: "weight", kind: "float", default: 1, range: nonNegative },
  ];
}

/** Bound arguments of one call: checked literal values (defaults filled) and the bare names. */
interface BoundCall {
  values: Record<string, AttrValue>;
  names: Record<string, NameRef>;
  callee: string;
  loc: SourceLoc;
}

/**
 * Check the train section of `model` against its lowered forward graph and build its TrainSpec.
 * `graph` and `bindings` (lowerModel's LowerResult) resolve the names losses and metrics read; without
 * them (the model itself has errors) only the checks that do not need values run. A model without a
 * train section gives `{ diagnostics: [] }`.
 *
 * Diagnostics: E0801 unknown key, E0802 duplicate key or loss name, E0803 missing data/loss/optimizer,
 * E0804 unknown data source/optimizer/schedule/loss/metric/augmentation (with nearest names), E0805 wrong
 * entry type, E0806 entry out of range (batch_size >= 1, epochs >= 1, split), E0401-E0406 function
 * arguments (unknown, missing, type, range, too many, duplicate), E0302 unknown name, E0807 a loss/metric
 * input that is not a model value, E0808 an unknown data field (mnist() and npy(): fields are known),
 * E0809 loss/metric/data shapes or dtypes that do not fit (checked by the loss op's own shape rule).
 */
export function lowerTrain(model: ModelDecl, graph?: Graph, bindings: Record<string, string> = {}): LowerTrainResult {
  if (!model.train) return { diagnostics: [] };
  const l = new TrainLowerer(graph, bindings);
  const spec = l.lower(model.train.entries, model.train.keyword);
  const diagnostics = l.diags
    .map((d, i) => ({ d, i }))
    .sort((a, b) => (a.d.loc?.offset ?? 0) - (b.d.loc?.offset ?? 0) || a.i - b.i)
    .map((x) => x.d);
  return spec && !hasErrors(diagnostics) && graph ? { spec, diagnostics } : { diagnostics };
}

class TrainLowerer {
  readonly diags: Diagnostic[] = [];
  /** Fields of the data source when knowable (mnist, npy), with their per-sample types when known. */
  private knownFields?: Map<string, { dtype: "f32" | "i32"; shape: number[] } | undefined>;
  private fields: Record<string, string> = {};

  constructor(
    private readonly graph: Graph | undefined,
    private readonly bindings: Record<string, string>,
  ) {}

  private err(code: DiagnosticCode, message: string, loc: SourceLoc, hint?: string, related?: RelatedLoc[]): void {
    this.diags.push(diag(code, message, loc, { ...(hint !== undefined ? { hint } : {}), ...(related ? { related } : {}) }));
  }

  lower(entries: TrainEntry[], keyword: SourceLoc): TrainSpec | undefined {
    const byKey = new Map<string, TrainEntry>();
    const losses: TrainEntry[] = [];
    const lossNames = new Map<string, SourceLoc>();
    for (const e of entries) {
      const key = e.key.text;
      if (!(TRAIN_KEYS as readonly string[]).includes(key)) {
        const hint = didYouMean(key, TRAIN_KEYS) ?? `train entries are ${TRAIN_KEYS.join(", ")}`;
        this.err("E0801", `unknown train entry '${key}'`, e.key.loc, hint);
        continue;
      }
      if (key === "loss") {
        const name = e.name?.text ?? "loss";
        const prev = lossNames.get(name);
        if (prev) {
          const hint = "name each loss: loss NAME = ...";
          this.err("E0802", `loss '${name}' is already defined`, (e.name ?? e.key).loc, hint, [{ loc: prev, message: "first defined here" }]);
          continue;
        }
        lossNames.set(name, (e.name ?? e.key).loc);
        losses.push(e);
        continue;
      }
      if (e.name) {
        this.err("E0805", `'${key}' entries take no name`, e.name.loc, `only losses are named: loss ${e.name.text} = ...; write ${key} = ...`);
        continue;
      }
      const prev = byKey.get(key);
      if (prev) {
        this.err("E0802", `'${key}' is already set in this train section`, e.key.loc, undefined, [{ loc: prev.key.loc, message: "first set here" }]);
        continue;
      }
      byKey.set(key, e);
    }
    const missing = REQUIRED_TRAIN_KEYS.filter((k) => (k === "loss" ? losses.length === 0 : !byKey.has(k)));
    if (missing.length > 0) {
      const examples: Record<string, string> = {
        data: "data = mnist()",
        loss: "loss = cross_entropy(logits, label)",
        optimizer: "optimizer = adam(lr=0.001)",
      };
      const what = missing.map((k) => `'${k}'`).join(", ");
      this.err("E0803", `train section is missing ${what}`, keyword, `add ${missing.map((k) => examples[k]).join("; ")}`);
    }

    const get = <T>(key: string, f: (e: TrainEntry) => T | undefined): T | undefined => {
      const e = byKey.get(key);
      return e ? f(e) : undefined;
    };
    const data = get("data", (e) => this.data(e.value));
    const lossSpecs = losses.map((e) => this.loss(e)).filter((x): x is TrainLossSpec => x !== undefined);
    const metricsEntry = byKey.get("metrics");
    const metrics = metricsEntry ? this.list(metricsEntry, (x) => this.metric(x)) : [];
    if (data) this.checkDataFields(data, byKey.get("data")!.value, [...lossSpecs, ...(metrics ?? [])]);
    const optimizer = get("optimizer", (e) => this.optimizer(e.value));
    const split = get("split", (e) => this.split(e)) ?? { ...TRAIN_DEFAULTS.split };
    const schedule = get("schedule", (e) => this.schedule(e.value)) ?? { ...TRAIN_DEFAULTS.schedule };
    const clip = get("clip_grad_norm", (e) => this.number(e, { int: false, min: 0, minExclusive: true }));
    const batch = get("batch_size", (e) => this.number(e, { int: true, min: 1 })) ?? TRAIN_DEFAULTS.batch_size;
    const epochs = get("epochs", (e) => this.number(e, { int: true, min: 1 })) ?? TRAIN_DEFAULTS.epochs;
    const seed = get("seed", (e) => this.number(e, { int: true, min: 0, max: 2 ** 32 - 1 })) ?? TRAIN_DEFAULTS.seed;
    const early = get("early_stopping", (e) => this.earlyStopping(e.value));
    const augmentEntry = byKey.get("augment");
    const augment = augmentEntry ? this.list(augmentEntry, (x) => this.augmentation(x)) : [];
    if (augmentEntry && augment && augment.length > 0) this.checkImages(augmentEntry);
    if (early && byKey.has("split") && split.validation === 0)
      this.err("E0806", "early_stopping watches the validation loss, but the split has no validation set", byKey.get("early_stopping")!.value.loc,
        "give the validation set some samples: split = [8000, 1000, 1000]");

    if (!data || !optimizer || lossSpecs.length !== losses.length || !metrics || !augment || missing.length > 0) return undefined;
    return {
      data,
      split,
      losses: lossSpecs,
      optimizer,
      schedule,
      ...(clip !== undefined ? { clip_grad_norm: clip } : {}),
      batch_size: batch,
      epochs,
      seed,
      metrics,
      ...(early ? { early_stopping: early } : {}),
      augment,
    };
  }

  // ---- calls and arguments ----

  /**
   * `e` as a call of one of `names` (a bare known name counts as a call without arguments): E0805 when it
   * is not a call, E0804 when the function is unknown.
   */
  private asCall(e: Expr, what: string, names: readonly string[], example: string): CallExpr | undefined {
    if (e.kind === "name" && names.includes(e.name)) return { kind: "call", callee: { kind: "ident", text: e.name, loc: e.loc }, args: [], loc: e.loc };
    if (e.kind !== "call") {
      const got = e.kind === "name" ? `name '${e.name}'` : describeExpr(e);
      this.err("E0805", `expected ${/^[aeiou]/.test(what) ? "an" : "a"} ${what} such as ${example}, got ${got}`, e.loc, `${what}s: ${names.map((n) => `${n}(...)`).join(", ")}`);
      return undefined;
    }
    if (!names.includes(e.callee.text)) {
      const hint = didYouMean(e.callee.text, names) ?? `${what}s: ${names.join(", ")}`;
      this.err("E0804", `unknown ${what} '${e.callee.text}'`, e.callee.loc, hint);
      return undefined;
    }
    if (e.layer) this.err("E0805", `${what} '${e.callee.text}' cannot be given a layer name`, e.layer.loc);
    return e;
  }

  /** Bind a call's arguments to FUNCTIONS[callee] with the E04xx checks; undefined after an error. */
  private bind(call: CallExpr): BoundCall | undefined {
    const fn = call.callee.text;
    const params = FUNCTIONS[fn]!;
    const given = new Map<string, { e: Expr; loc: SourceLoc }>();
    let ok = true;
    let unknownKw = false;
    const positional = call.args.filter((a) => !a.name);
    positional.forEach((a, i) => {
      const p = params[i];
      if (!p) {
        if (i === params.length) this.err("E0405", `${fn}: too many arguments: takes ${params.length}, got ${positional.length}`, a.loc);
        ok = false;
      } else given.set(p.name, { e: a.value, loc: a.value.loc });
    });
    for (const a of call.args) {
      if (!a.name) continue;
      const p = params.find((q) => q.name === a.name!.text);
      if (!p) {
        unknownKw = true;
        ok = false;
        const hint = didYouMean(a.name.text, params.map((q) => q.name)) ?? (params.length ? `arguments: ${params.map((q) => q.name).join(", ")}` : `${fn}() takes no arguments`);
        this.err("E0401", `${fn}: unknown argument '${a.name.text}'`, a.name.loc, hint);
      } else if (given.has(p.name)) {
        ok = false;
        this.err("E0406", `${fn}: argument '${p.name}' given more than once`, a.name.loc);
      } else given.set(p.name, { e: a.value, loc: a.value.loc });
    }
    const missing = params.filter((p) => p.default === undefined && !given.has(p.name));
    if (missing.length > 0 && !unknownKw) {
      const list = missing.map((p) => `'${p.name}'`).join(", ");
      this.err("E0402", `${fn}: missing ${missing.length === 1 ? "argument" : "arguments"} ${list}`, call.loc, `${fn}(${params.map(showParam).join(", ")})`);
      ok = false;
    }
    const values: Record<string, AttrValue> = {};
    const names: Record<string, NameRef> = {};
    for (const p of params) {
      const g = given.get(p.name);
      if (!g) {
        if (p.default !== undefined) values[p.name] = Array.isArray(p.default) ? [...p.default] : p.default;
        continue;
      }
      if (p.kind === "name") {
        if (g.e.kind === "name") names[p.name] = g.e;
        else {
          ok = false;
          const role = p.name === "input" ? "a model value (an output or let binding)" : "a data field name";
          this.err(p.name === "input" ? "E0807" : "E0403", `${fn}: argument '${p.name}' must be ${role}, got ${describeExpr(g.e)}`, g.loc,
            p.name === "input" ? "bind the expression in the model (let y = ...) and name it here" : undefined);
        }
        continue;
      }
      const v = literal(p.kind, g.e);
      if (v === undefined) {
        ok = false;
        this.err("E0403", `${fn}: argument '${p.name}' expects ${KIND_NAMES[p.kind]}, got ${describeExpr(g.e)}`, g.loc);
        continue;
      }
      const bad =
        p.choices && !p.choices.includes(v as string)
          ? `must be one of ${p.choices.map((c) => `"${c}"`).join(", ")}`
          : p.range?.(v);
      if (bad) {
        ok = false;
        this.err("E0404", `${fn}: argument '${p.name}' ${bad}, got ${JSON.stringify(v)}`, g.loc);
        continue;
      }
      values[p.name] = v;
    }
    return ok ? { values, names, callee: fn, loc: call.loc } : undefined;
  }

  // ---- entries ----

  /** A number entry (batch_size, epochs, seed, clip_grad_norm): E0805 for the type, E0806 for the range. */
  private number(e: TrainEntry, o: { int: boolean; min?: number; minExclusive?: boolean; max?: number }): number | undefined {
    const key = e.key.text;
    const v = e.value;
    if (v.kind !== "number" || (o.int && !v.isInt)) {
      this.err("E0805", `'${key}' expects ${o.int ? "an int" : "a number"}, got ${describeExpr(v)}`, v.loc);
      return undefined;
    }
    const low = o.min !== undefined && (o.minExclusive ? v.value <= o.min : v.value < o.min);
    if (low || (o.max !== undefined && v.value > o.max)) {
      const range = o.max !== undefined ? `in [${o.min}, ${o.max}]` : `${o.minExclusive ? ">" : ">="} ${o.min}`;
      this.err("E0806", `'${key}' must be ${range}, got ${v.value}`, v.loc);
      return undefined;
    }
    return v.value;
  }

  /** A list entry (metrics, augment): each item through `item`; undefined when any failed. */
  private list<T>(e: TrainEntry, item: (x: Expr) => T | undefined): T[] | undefined {
    const v = e.value;
    const items = v.kind === "list" ? v.items : v.kind === "call" ? [v] : undefined;
    if (!items) {
      this.err("E0805", `'${e.key.text}' expects a list, got ${describeExpr(v)}`, v.loc, `write ${e.key.text} = [...]`);
      return undefined;
    }
    const out = items.map(item);
    return out.every((x) => x !== undefined) ? (out as T[]) : undefined;
  }

  /** `split = [train, validation, test]`: counts (all ints) or fractions summing to 1. */
  private split(e: TrainEntry): TrainSplitSpec | undefined {
    const v = e.value;
    const nums = v.kind === "list" && v.items.length === 3 && v.items.every((i) => i.kind === "number") ? v.items : undefined;
    if (!nums) {
      this.err("E0805", `'split' expects a list of three numbers [train, validation, test], got ${describeExpr(v)}`, v.loc,
        "counts (split = [8000, 1000, 1000]) or fractions (split = [0.8, 0.1, 0.1])");
      return undefined;
    }
    const [train, validation, test] = nums.map((n) => (n as { value: number }).value) as [number, number, number];
    const counts = nums.every((n) => n.kind === "number" && n.isInt);
    const bad = nums.find((n) => {
      const x = (n as { value: number }).value;
      return x < 0 || (!counts && x > 1);
    });
    if (bad) {
      this.err("E0806", `split ${counts ? "counts must be >= 0" : "fractions must be in [0, 1]"}, got ${(bad as { value: number }).value}`, bad.loc);
      return undefined;
    }
    if (train === 0) {
      this.err("E0806", "the training set of the split is empty", nums[0]!.loc);
      return undefined;
    }
    if (!counts && Math.abs(train + validation + test - 1) > 1e-6) {
      this.err("E0806", `split fractions must sum to 1, got ${+(train + validation + test).toFixed(6)}`, v.loc,
        "counts are written as integers: [8000, 1000, 1000]");
      return undefined;
    }
    return { train, validation, test, unit: counts ? "count" : "fraction" };
  }

  /** `data = mnist() | npz(path) | npy(field=path, ...) | csv(path, label=col) | safetensors(path)`. */
  private data(e: Expr): TrainDataSpec | undefined {
    const call = this.asCall(e, "data source", DATA_SOURCES, "mnist()");
    if (!call) return undefined;
    const source = call.callee.text as TrainDataSpec["source"];
    const takesPath = source === "npz" || source === "csv" || source === "safetensors";
    const positional = call.args.filter((a) => !a.name);
    let ok = true;
    let path: string | undefined;
    positional.forEach((a, i) => {
      if (!takesPath || i > 0) {
        if (i === (takesPath ? 1 : 0)) {
          const hint = takesPath ? `${source}("file") takes one path; map fields with keywords` : `${source}() takes only keyword arguments`;
          this.err("E0405", `${source}: too many arguments`, a.value.loc, hint);
        }
        ok = false;
      } else if (a.value.kind !== "string") {
        this.err("E0403", `${source}: the path must be a string, got ${describeExpr(a.value)}`, a.value.loc);
        ok = false;
      } else path = a.value.value;
    });
    if (takesPath && positional.length === 0) {
      this.err("E0402", `${source}: missing the file path`, call.loc, `write ${source}("data.${source === "safetensors" ? "safetensors" : source}")`);
      ok = false;
    }
    const fields: Record<string, string> = {};
    const paths: Record<string, string> = {};
    let label: string | undefined;
    for (const a of call.args) {
      if (!a.name) continue;
      const k = a.name.text;
      if (a.value.kind !== "string") {
        this.err("E0403", `${source}: '${k}' must be a string (${source === "npy" ? "a file path" : "a field of the data"}), got ${describeExpr(a.value)}`, a.value.loc);
        ok = false;
        continue;
      }
      const target = source === "npy" ? paths : source === "csv" && k === "label" ? undefined : fields;
      if ((target ?? {})[k] !== undefined || (k === "label" && source === "csv" && label !== undefined)) {
        this.err("E0406", `${source}: '${k}' given more than once`, a.name.loc);
        ok = false;
      } else if (target) target[k] = a.value.value;
      else label = a.value.value;
    }
    if (source === "npy" && Object.keys(paths).length === 0) {
      this.err("E0402", "npy: missing the files", call.loc, 'map each model input and target to a file: npy(image="x.npy", label="y.npy")');
      ok = false;
    }
    if (!ok) return undefined;
    this.fields = fields;
    if (source === "mnist") {
      this.knownFields = new Map(Object.entries(MNIST_FIELDS));
      for (const [k, f] of Object.entries(fields)) if (!(f in MNIST_FIELDS)) this.unknownField(f, call.args.find((a) => a.name?.text === k)!.value.loc);
    } else if (source === "npy") this.knownFields = new Map(Object.keys(paths).map((k) => [k, undefined]));
    return {
      source,
      ...(path !== undefined ? { path } : {}),
      ...(source === "npy" ? { paths } : {}),
      fields,
      ...(label !== undefined ? { label } : {}),
    };
  }

  private unknownField(field: string, loc: SourceLoc): void {
    const known = [...(this.knownFields?.keys() ?? [])];
    this.err("E0808", `unknown data field '${field}'`, loc, didYouMean(field, known) ?? `the data provides ${known.map((k) => `'${k}'`).join(", ")}`);
  }

  /** Model inputs must come from data fields, with matching types where the source says them (mnist). */
  private checkDataFields(data: TrainDataSpec, at: Expr, reads: { target: string }[]): void {
    if (!this.graph) return;
    const inputs = this.graph.inputs.map((i) => i.name);
    const call = at.kind === "call" ? at : undefined;
    for (const a of call?.args ?? []) {
      const k = a.name?.text;
      if (k === undefined || data.source === "npy" || (data.source === "csv" && k === "label")) continue;
      if (!inputs.includes(k) && !reads.some((r) => r.target === k)) {
        const hint = didYouMean(k, [...inputs, ...reads.map((r) => r.target)]) ?? "keywords map a model input or a loss target to a field of the file";
        this.err("E0401", `${data.source}: '${k}' is neither a model input nor a loss or metric target`, a.name!.loc, hint);
      }
    }
    if (!this.knownFields) return;
    const known = [...this.knownFields.keys()];
    for (const inp of this.graph.inputs) {
      const field = this.fields[inp.name] ?? inp.name;
      if (!this.knownFields.has(field)) {
        const via = data.source === "npy" ? `npy(${inp.name}="file.npy")` : `${data.source}(${inp.name}="${known[0] ?? "field"}")`;
        this.err("E0808", `model input '${inp.name}' has no field in ${data.source}(), which provides ${known.map((k) => `'${k}'`).join(", ")}`, at.loc,
          `map it: ${via}`);
        continue;
      }
      const ft = this.knownFields.get(field);
      const t = this.graph.values[inp.value]!.type;
      const per = t.shape.slice(1) as number[];
      const count = (s: number[]): number => s.reduce((x, y) => x * y, 1);
      if (ft && (ft.dtype !== t.dtype || count(ft.shape) !== count(per)))
        this.err("E0809", `model input '${inp.name}' is ${t.dtype}${showShape(per)} per sample, but field '${field}' of ${data.source}() is ${ft.dtype}${showShape(ft.shape)}`,
          at.loc, "declare the input with the field's type (a reshape of the same size is fine)", valueLoc(this.graph, inp.value, "input declared here"));
    }
  }

  /** Augmentations move pixels: the model needs an image input [C, H, W]. */
  private checkImages(e: TrainEntry): void {
    if (!this.graph) return;
    const images = this.graph.inputs.filter((i) => this.graph!.values[i.value]!.type.shape.length === 4);
    if (images.length === 0)
      this.err("E0809", "augment needs an image input (per-sample shape [C, H, W]); this model has none", e.value.loc,
        "declare the input as an image, e.g. input image: f32[1, 28, 28]");
  }

  /** `loss [NAME] = op(model_value, data_field, args..., weight=1)`. */
  private loss(e: TrainEntry): TrainLossSpec | undefined {
    const call = this.asCall(e.value, "loss", LOSSES, "cross_entropy(logits, label)");
    const b = call && this.bind(call);
    if (!b) return undefined;
    const { weight, ...attrs } = b.values;
    const io = this.resolveIO(b);
    if (!io) return undefined;
    const op = b.callee as TrainLossSpec["op"];
    if (!this.checkLossShapes(op, io, attrs as Record<string, AttrValue>, call!)) return undefined;
    return { name: e.name?.text ?? "loss", op, input: io.input, target: io.target, attrs, weight: weight as number };
  }

  /** `accuracy(model_value, data_field)` */
  private metric(x: Expr): TrainMetricSpec | undefined {
    const call = this.asCall(x, "metric", METRICS, "accuracy(logits, label)");
    const b = call && this.bind(call);
    const io = b && this.resolveIO(b);
    if (!io || !this.graph) return undefined;
    const t = this.graph.values[io.input]!.type;
    const tt = io.targetType;
    const bad =
      t.shape.length !== 2
        ? `accuracy: expected class scores [N, C], got ${showShape(t.shape)}`
        : tt && !(tt.dtype === "i32" && tt.shape.length === 1) && !(tt.dtype === "f32" && sameShape(tt.shape, t.shape))
          ? `accuracy: targets ${tt.dtype}${showShape(tt.shape)} fit neither class indices i32[N] nor probabilities f32${showShape(t.shape)}`
          : undefined;
    if (bad) {
      this.err("E0809", bad, call!.loc, undefined, valueLoc(this.graph, io.input, `input ${showShape(t.shape)} ${t.dtype} came from here`));
      return undefined;
    }
    return { kind: "accuracy", input: io.input, target: io.target };
  }

  /** Resolve `input` to a model value id and `target` to a data field (type known for mnist). */
  private resolveIO(b: BoundCall): { input: string; target: string; targetType?: TensorType } | undefined {
    const inName = b.names["input"]!;
    const tName = b.names["target"]!;
    let ok = true;
    const id = this.bindings[inName.name];
    if (id === undefined && this.graph) {
      ok = false;
      const isField = this.knownFields?.has(this.fields[inName.name] ?? inName.name);
      if (isField)
        this.err("E0807", `${b.callee}: '${inName.name}' is a data field, but the first argument must be a model value`, inName.loc,
          `the prediction comes first: ${b.callee}(logits, ${inName.name})`);
      else this.err("E0302", `unknown name '${inName.name}'`, inName.loc, didYouMean(inName.name, Object.keys(this.bindings)));
    }
    const target = tName.name;
    const tId = this.bindings[target];
    const isInput = this.graph?.inputs.some((i) => i.name === target) ?? false;
    if (tId !== undefined && !isInput) {
      ok = false;
      this.err("E0808", `${b.callee}: the target must be a data field, but '${target}' is a model value`, tName.loc,
        "targets name a field of the data (e.g. label); only the first argument is a model value");
    }
    const field = this.fields[target] ?? target;
    let targetType: TensorType | undefined;
    if (ok && this.knownFields && !isInput) {
      if (!this.knownFields.has(field)) {
        this.unknownField(field, tName.loc);
        ok = false;
      } else {
        const ft = this.knownFields.get(field);
        if (ft) targetType = { dtype: ft.dtype, shape: ["N", ...ft.shape] };
      }
    } else if (isInput && this.graph) targetType = this.graph.values[tId!]!.type;
    if (!ok || id === undefined) return undefined;
    return { input: id, target, ...(targetType ? { targetType } : {}) };
  }

  /** The loss op's own shape rule on [input, target]; an unknown target is assumed to fit. */
  private checkLossShapes(op: TrainLossSpec["op"], io: { input: string; target: string; targetType?: TensorType }, attrs: Record<string, AttrValue>, call: CallExpr): boolean {
    if (!this.graph) return false;
    const t = this.graph.values[io.input]!.type;
    const assumed: TensorType = op === "cross_entropy" ? { dtype: "i32", shape: t.shape.slice(0, 1) } : { ...t };
    const def = LOSS_OPS.find((d) => d.name === op)!;
    try {
      def.infer([t, io.targetType ?? assumed], attrs);
      return true;
    } catch (err) {
      if (!(err instanceof OpTypeError)) throw err;
      const tt = io.targetType;
      const hint =
        op === "cross_entropy"
          ? "cross_entropy reads logits [N, C] and class indices i32[N] or probabilities f32[N, C]"
          : `${op} compares two f32 tensors of one shape${tt ? `; target '${io.target}' is ${tt.dtype}${showShape(tt.shape)}` : ""}`;
      this.err("E0809", err.message, call.loc, hint, valueLoc(this.graph, io.input, `input ${showShape(t.shape)} ${t.dtype} came from here`));
      return false;
    }
  }

  /** `optimizer = sgd(lr) | momentum(lr, ...) | adam(...) | adamw(...)`, every default filled in. */
  private optimizer(e: Expr): TrainOptimizerSpec | undefined {
    const call = this.asCall(e, "optimizer", OPTIMIZERS, "adam(lr=0.001)");
    const b = call && this.bind(call);
    if (!b) return undefined;
    const v = b.values as Record<string, number & boolean & number[]>;
    switch (b.callee) {
      case "sgd":
        return { kind: "sgd", lr: v.lr, weight_decay: v.weight_decay };
      case "momentum":
        if (v.nesterov && (v.momentum <= 0 || v.dampening !== 0)) {
          this.err("E0404", "momentum: nesterov needs momentum > 0 and dampening = 0 (as torch.optim.SGD)", call!.loc);
          return undefined;
        }
        return { kind: "momentum", lr: v.lr, momentum: v.momentum, dampening: v.dampening, nesterov: v.nesterov, weight_decay: v.weight_decay };
      default: {
        const kind = b.callee as "adam" | "adamw";
        return { kind, lr: v.lr, beta1: v.betas[0]!, beta2: v.betas[1]!, eps: v.eps, weight_decay: v.weight_decay };
      }
    }
  }

  /** `schedule = constant() | step(step_size, gamma=0.1) | cosine(warmup_epochs=0, min_lr=0)`. */
  private schedule(e: Expr): TrainScheduleSpec | undefined {
    const call = this.asCall(e, "schedule", SCHEDULES, "cosine()");
    const b = call && this.bind(call);
    if (!b) return undefined;
    const v = b.values as Record<string, number>;
    if (b.callee === "step") return { kind: "step", step_size: v.step_size!, gamma: v.gamma! };
    if (b.callee === "cosine") return { kind: "cosine", warmup_epochs: v.warmup_epochs!, min_lr: v.min_lr! };
    return { kind: "constant" };
  }

  private earlyStopping(e: Expr): { patience: number; min_delta: number } | undefined {
    const call = this.asCall(e, "early stopping rule", ["early_stopping"], "early_stopping(patience=3)");
    const b = call && this.bind(call);
    return b && { patience: b.values["patience"] as number, min_delta: b.values["min_delta"] as number };
  }

  private augmentation(x: Expr): TrainAugmentSpec | undefined {
    const call = this.asCall(x, "augmentation", AUGMENTS, "shift(2)");
    const b = call && this.bind(call);
    if (!b) return undefined;
    return b.callee === "shift" ? { kind: "shift", pixels: b.values["pixels"] as number } : { kind: "rotate", degrees: b.values["degrees"] as number };
  }
}

const KIND_NAMES: Record<ParamKind, string> = {
  float: "a number",
  int: "an int",
  bool: "true or false",
  string: "a string",
  floats: "a list of numbers",
  name: "a name",
};

/** The literal value of `e` for a parameter kind, or undefined when it is not of that kind. */
function literal(kind: ParamKind, e: Expr): AttrValue | undefined {
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
    case "name":
      return undefined;
  }
}

/** "an int", "a string", "a call to 'adam'", "name 'h'" ... for "got ..." messages. */
function describeExpr(e: Expr): string {
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

function showParam(p: Param): string {
  return p.default === undefined ? p.name : `${p.name}=${JSON.stringify(p.default)}`;
}

function sameShape(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function valueLoc(g: Graph, id: string, message: string): RelatedLoc[] | undefined {
  const loc = g.values[id]?.loc;
  return loc ? [{ loc, message }] : undefined;
}

/** CLI overrides of a TrainSpec (`modelc train --epochs 3 --lr 0.01 ...`); absent fields keep the spec's. */
export interface TrainOverrides {
  epochs?: number;
  batch_size?: number;
  lr?: number;
  seed?: number;
  /** Optimizer kind; switching kind keeps lr and takes the new kind's defaults for the rest. */
  optimizer?: string;
}

/**
 * A copy of `spec` with `overrides` applied. Throws Error (message names the option and the rule) for
 * epochs or batch_size not an integer >= 1, lr not a finite number > 0, seed not an integer in
 * [0, 2^32 - 1], or an unknown optimizer (with the nearest names). `optimizer` set to the spec's own
 * kind changes nothing; another kind starts from its defaults (sgd/momentum: weight_decay 0, momentum
 * 0.9; adam: betas [0.9, 0.999], eps 1e-8, weight_decay 0; adamw: weight_decay 0.01) with the current lr.
 */
export function applyTrainOverrides(spec: TrainSpec, overrides: TrainOverrides): TrainSpec {
  const out: TrainSpec = structuredClone(spec);
  const int = (name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    if (!Number.isInteger(v) || v < min || v > max)
      throw new Error(`--${name.replace("_", "-")} must be an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`}, got ${v}`);
    return v;
  };
  if (overrides.epochs !== undefined) out.epochs = int("epochs", overrides.epochs, 1);
  if (overrides.batch_size !== undefined) out.batch_size = int("batch_size", overrides.batch_size, 1);
  if (overrides.seed !== undefined) out.seed = int("seed", overrides.seed, 0, 2 ** 32 - 1);
  if (overrides.optimizer !== undefined && overrides.optimizer !== out.optimizer.kind) {
    const kind = overrides.optimizer;
    const lr = out.optimizer.lr;
    if (kind === "sgd") out.optimizer = { kind, lr, weight_decay: 0 };
    else if (kind === "momentum") out.optimizer = { kind, lr, momentum: 0.9, dampening: 0, nesterov: false, weight_decay: 0 };
    else if (kind === "adam" || kind === "adamw")
      out.optimizer = { kind, lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: kind === "adamw" ? 0.01 : 0 };
    else {
      const near = didYouMean(kind, OPTIMIZERS);
      throw new Error(`--optimizer: unknown optimizer '${kind}'${near ? `; ${near}` : ""} (optimizers: ${OPTIMIZERS.join(", ")})`);
    }
  }
  if (overrides.lr !== undefined) {
    if (!Number.isFinite(overrides.lr) || overrides.lr <= 0) throw new Error(`--lr must be a number > 0, got ${overrides.lr}`);
    out.optimizer.lr = overrides.lr;
  }
  return out;
}
