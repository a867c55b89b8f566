// Lowering of the train section's data entries: `data = mnist() | npz | npy | csv | safetensors`, `split`, and
// the checks of model inputs against the source's fields. Neighbours: train-calls.ts (base), train-losses.ts.

import type { Graph, SourceLoc } from "../ir/types.js";
import { showShape } from "../ir/graph.js";
import type { Expr, TrainEntry } from "./ast.js";
import { lossReads, unfedInputs } from "../train/prune.js";
import { didYouMean } from "./scope.js";
import type { TrainDataSpec, TrainDerivedField, TrainSplitSpec } from "../train/spec.js";
import { TrainCallChecker } from "./train-calls.js";
import { DATA_SOURCES, DERIVED_FIELDS, MNIST_FIELDS, VQA_FIELDS, describeExpr, valueLoc, type KnownField } from "./train-functions.js";

/** Train-section lowerer, data part: holds the source's known fields and the input -> field map. */
export class TrainDataLowerer extends TrainCallChecker {
  /** Fields of the data source when knowable (mnist, npy), with their per-sample types when known. */
  protected knownFields?: Map<string, KnownField | undefined>;
  /** Derived fields defined so far (`field NAME = ...`) and their class counts. */
  protected derivedNames = new Map<string, number>();
  protected fields: Record<string, string> = {};
  /** Derived fields whose definition had an error: known (no E0808 at their uses) but not offered in hints. */
  protected poisonedFields = new Set<string>();

  constructor(
    protected readonly graph: Graph | undefined,
    protected readonly bindings: Record<string, string>,
  ) {
    super();
  }

  /** `split = [train, validation, test]`: counts (all ints) or fractions summing to 1. */
  protected split(e: TrainEntry): TrainSplitSpec | undefined {
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
  protected data(e: Expr): TrainDataSpec | undefined {
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
    let seed: number | undefined;
    for (const a of call.args) {
      if (!a.name) continue;
      const k = a.name.text;
      if (source === "mnist_vqa" && k === "seed") {
        if (a.value.kind !== "number" || !Number.isInteger(a.value.value) || a.value.value < 0) {
          this.err("E0403", `mnist_vqa: 'seed' must be a non-negative integer, got ${describeExpr(a.value)}`, a.value.loc);
          ok = false;
        } else seed = a.value.value;
        continue;
      }
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
    if (source === "mnist_vqa") {
      this.knownFields = new Map(Object.entries(VQA_FIELDS));
      for (const [k, f] of Object.entries(fields)) if (!(f in VQA_FIELDS)) this.unknownField(f, call.args.find((a) => a.name?.text === k)!.value.loc);
    } else if (source === "mnist") {
      this.knownFields = new Map(Object.entries(MNIST_FIELDS));
      for (const [k, f] of Object.entries(fields)) if (!(f in MNIST_FIELDS)) this.unknownField(f, call.args.find((a) => a.name?.text === k)!.value.loc);
    } else if (source === "npy") this.knownFields = new Map(Object.keys(paths).map((k) => [k, undefined]));
    return {
      source,
      ...(path !== undefined ? { path } : {}),
      ...(source === "npy" ? { paths } : {}),
      fields,
      ...(label !== undefined ? { label } : {}),
      ...(seed !== undefined ? { seed } : {}),
    };
  }

  /**
   * `field NAME = relabel(src, [..]) | mod(src, k) | greater(src, t)`: an i32 class field derived from the
   * i32 field `src` (a data field or an earlier derived field). Where the source's classes are known
   * (mnist label: 10) the relabel table must have one entry per class. Registers NAME as a known field;
   * when its definition is wrong, as a poisoned field (type unknown) so that its uses report nothing more.
   */
  protected derivedField(e: TrainEntry): TrainDerivedField | undefined {
    const out = this.derivedFieldSpec(e);
    const name = e.name!.text;
    if (!out && this.knownFields && !this.knownFields.has(name) && !this.graph?.inputs.some((i) => i.name === name)) {
      this.knownFields.set(name, undefined);
      this.poisonedFields.add(name);
    }
    return out;
  }

  private derivedFieldSpec(e: TrainEntry): TrainDerivedField | undefined {
    const name = e.name!;
    const call = this.asCall(e.value, "derived field", DERIVED_FIELDS, "relabel(label, [0, 1, 0, 1, 0, 1, 0, 1, 0, 1])");
    const b = call && this.bind(call);
    if (!b) return undefined;
    const src = b.names["source"]!;
    if (this.knownFields?.has(name.text) || this.graph?.inputs.some((i) => i.name === name.text)) {
      this.err("E0802", `field '${name.text}' already exists in the data or the model`, name.loc, "give the derived field a new name");
      return undefined;
    }
    if (this.bindings[src.name] !== undefined && !this.graph?.inputs.some((i) => i.name === src.name)) {
      this.err("E0808", `${b.callee}: '${src.name}' is a model value; derived fields read a data field`, src.loc, "e.g. relabel(label, [...])");
      return undefined;
    }
    const field = this.fields[src.name] ?? src.name;
    let classes: number | undefined;
    if (this.derivedNames.has(field)) classes = this.derivedNames.get(field);
    else if (this.knownFields) {
      if (!this.knownFields?.has(field)) {
        this.unknownField(field, src.loc);
        return undefined;
      }
      const ft = this.knownFields.get(field);
      if (ft && (ft.dtype !== "i32" || ft.shape.length !== 0)) {
        this.err("E0809", `${b.callee}: field '${field}' is ${ft.dtype}${showShape(ft.shape)} per sample; derived fields read one i32 class index per sample`, src.loc);
        return undefined;
      }
      classes = ft?.classes;
    }
    let out: TrainDerivedField;
    let newClasses: number;
    if (b.callee === "relabel") {
      const table = b.values["table"] as number[];
      if (classes !== undefined && table.length !== classes) {
        const at = call!.args[1]?.value.loc ?? call!.loc;
        this.err("E0806", `relabel: the table has ${table.length} entries, but field '${field}' has ${classes} classes (0..${classes - 1})`, at,
          `give one new class per old class: [${Array.from({ length: classes }, (_, i) => i % 2).join(", ")}]`);
        return undefined;
      }
      out = { name: name.text, op: "relabel", source: field, table };
      newClasses = Math.max(...table) + 1;
    } else if (b.callee === "mod") {
      const divisor = b.values["divisor"] as number;
      out = { name: name.text, op: "mod", source: field, divisor };
      newClasses = divisor;
    } else {
      out = { name: name.text, op: "greater", source: field, threshold: b.values["threshold"] as number };
      newClasses = 2;
    }
    this.derivedNames.set(name.text, newClasses);
    this.knownFields?.set(name.text, { dtype: "i32", shape: [], classes: newClasses });
    return out;
  }

  protected unknownField(field: string, loc: SourceLoc): void {
    const known = [...(this.knownFields?.keys() ?? [])].filter((k) => !this.poisonedFields.has(k));
    this.err("E0808", `unknown data field '${field}'`, loc, didYouMean(field, known) ?? `the data provides ${known.map((k) => `'${k}'`).join(", ")}`);
  }

  /** Model inputs must come from data fields, with matching types where the source says them (mnist). */
  protected checkDataFields(data: TrainDataSpec, at: Expr, reads: { input?: string; target: string; targetValue?: boolean }[]): void {
    if (!this.graph) return;
    const inputs = this.graph.inputs.map((i) => i.name);
    const call = at.kind === "call" ? at : undefined;
    for (const a of call?.args ?? []) {
      const k = a.name?.text;
      if (k === undefined || data.source === "npy" || (data.source === "csv" && k === "label") || (data.source === "mnist_vqa" && k === "seed")) continue;
      if (!inputs.includes(k) && !reads.some((r) => r.target === k)) {
        const hint = didYouMean(k, [...inputs, ...reads.map((r) => r.target)]) ?? "keywords map a model input or a loss target to a field of the file";
        this.err("E0401", `${data.source}: '${k}' is neither a model input nor a loss or metric target`, a.name!.loc, hint);
      }
    }
    if (!this.knownFields) return;
    const known = [...this.knownFields.keys()].filter((k) => !this.poisonedFields.has(k));
    // Inputs no loss or metric needs (a CVAE's generation seed) are not fed in training (train/prune.ts).
    const r = lossReads(reads.filter((x) => "input" in x) as Parameters<typeof lossReads>[0], []);
    const unfed = unfedInputs(this.graph, r.refs, reads.map((x) => x.target));
    for (const inp of this.graph.inputs) {
      if (unfed.has(inp.name)) continue;
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
  protected checkImages(e: TrainEntry): void {
    if (!this.graph) return;
    const images = this.graph.inputs.filter((i) => this.graph!.values[i.value]!.type.shape.length === 4);
    if (images.length === 0)
      this.err("E0809", "augment needs an image input (per-sample shape [C, H, W]); this model has none", e.value.loc,
        "declare the input as an image, e.g. input image: f32[1, 28, 28]");
  }

}
