// Lowering of the train section's losses and metrics: names resolved to model values and data fields, shapes
// checked by the loss op's own rule. Neighbours: train-data.ts (base), ir/ops/loss.ts, lower-train.ts.

import type { AttrValue, TensorType } from "../ir/types.js";
import { showShape } from "../ir/graph.js";
import { LOSS_OPS } from "../ir/ops/loss.js";
import { OpTypeError } from "../ir/ops/def.js";
import type { CallExpr, Expr, TrainEntry } from "./ast.js";
import { didYouMean } from "./scope.js";
import type { LossWeightSchedule, TrainLossSpec, TrainMetricSpec } from "../train/spec.js";
import { TrainDataLowerer } from "./train-data.js";
import { LOSSES, METRICS, WEIGHT_SCHEDULES, describeExpr, sameShape, valueLoc, type BoundCall } from "./train-functions.js";

/** Train-section lowerer, loss and metric part. */
export class TrainLossLowerer extends TrainDataLowerer {
  /** `loss [NAME] = op(model_value, data_field, args..., weight=1)`. */
  protected loss(e: TrainEntry): TrainLossSpec | undefined {
    const call = this.asCall(e.value, "loss", LOSSES, "cross_entropy(logits, label)");
    const b = call && this.bind(call);
    if (!b) return undefined;
    const { weight: _default, ...attrs } = b.values;
    const we = b.exprs["weight"];
    const w = we ? this.weights.get(we) : { weight: 1 };
    const io = b.callee === "gaussian_kl" ? this.valuePairIO(b) : this.resolveIO(b);
    if (!io || !w) return undefined;
    const op = b.callee as TrainLossSpec["op"];
    if (!this.checkLossShapes(op, io, attrs as Record<string, AttrValue>, call!)) return undefined;
    if (op === "cross_entropy" && !this.checkClassCount("cross_entropy", io, call!)) return undefined;
    return { name: e.name?.text ?? "loss", op, input: io.input, target: io.target, ...(op === "gaussian_kl" ? { targetValue: true } : {}), attrs, ...w };
  }

  /**
   * Class indices against class scores: a target field whose class count is known (mnist `label`: 10, a
   * derived field) must not have more classes than the scores [N, C] have columns (E0809).
   */
  protected checkClassCount(fn: string, io: { input: string; target: string; targetType?: TensorType }, call: CallExpr): boolean {
    if (!this.graph || !io.targetType || io.targetType.dtype !== "i32") return true;
    const classes = this.knownFields?.get(this.fields[io.target] ?? io.target)?.classes;
    const t = this.graph.values[io.input]!.type;
    const c = t.shape[1];
    if (classes === undefined || t.shape.length !== 2 || typeof c !== "number" || classes <= c) return true;
    this.err("E0809", `${fn}: target '${io.target}' has ${classes} classes (0..${classes - 1}), but the scores have ${c} columns`, call.loc,
      `give the head ${classes} outputs, e.g. dense(${classes})`, valueLoc(this.graph, io.input, `scores ${showShape(t.shape)} came from here`));
    return false;
  }

  /** Checked loss weights by their expression (bind -> checkExprArg -> lossWeight). */
  private readonly weights = new Map<Expr, { weight: number; weight_schedule?: LossWeightSchedule }>();

  protected override checkExprArg(fn: string, name: string, e: Expr): boolean {
    if (name !== "weight") return true;
    const w = this.lossWeight(fn, e);
    if (w) this.weights.set(e, w);
    return w !== undefined;
  }

  /**
   * A loss's `weight=`: a number >= 0 (default 1) or a schedule `warmup(value, epochs=E)` /
   * `ramp(start, end, epochs=E)`; `weight` is then the schedule's final value.
   */
  protected lossWeight(fn: string, e: Expr | undefined): { weight: number; weight_schedule?: LossWeightSchedule } | undefined {
    if (e === undefined) return { weight: 1 };
    if (e.kind === "number") {
      if (e.value >= 0) return { weight: e.value };
      this.err("E0404", `${fn}: argument 'weight' must be >= 0, got ${e.value}`, e.loc);
      return undefined;
    }
    if (e.kind !== "call" || !(WEIGHT_SCHEDULES as readonly string[]).includes(e.callee.text)) {
      if (e.kind === "call") {
        this.err("E0804", `unknown loss weight schedule '${e.callee.text}'`, e.callee.loc, didYouMean(e.callee.text, WEIGHT_SCHEDULES) ?? `schedules: ${WEIGHT_SCHEDULES.join(", ")}`);
        return undefined;
      }
      this.err("E0403", `${fn}: argument 'weight' expects a number or a schedule warmup(value, epochs=E) / ramp(start, end, epochs=E), got ${describeExpr(e)}`, e.loc);
      return undefined;
    }
    const b = this.bind(e);
    if (!b) return undefined;
    const v = b.values as Record<string, number>;
    if (b.callee === "warmup") return { weight: v["value"]!, weight_schedule: { kind: "warmup", value: v["value"]!, epochs: v["epochs"]! } };
    return { weight: v["end"]!, weight_schedule: { kind: "ramp", start: v["start"]!, end: v["end"]!, epochs: v["epochs"]! } };
  }

  /**
   * gaussian_kl(mu, logvar): both names are model values (the encoder's outputs), not data fields;
   * `target` then holds logvar's value id (TrainLossSpec.targetValue). E0807 for a name that is a data field.
   */
  protected valuePairIO(b: BoundCall): { input: string; target: string; targetType?: TensorType } | undefined {
    const ids = (["input", "target"] as const).map((k) => {
      const n = b.names[k]!;
      const id = this.bindings[n.name];
      if (id === undefined && this.graph) {
        const isField = this.knownFields?.has(this.fields[n.name] ?? n.name);
        if (isField) this.err("E0807", `${b.callee}: '${n.name}' is a data field, but both arguments must be model values (mu, logvar)`, n.loc);
        else this.err("E0302", `unknown name '${n.name}'`, n.loc, didYouMean(n.name, Object.keys(this.bindings)));
      }
      return id;
    });
    if (ids.some((id) => id === undefined) || !this.graph) return undefined;
    return { input: ids[0]!, target: ids[1]!, targetType: this.graph.values[ids[1]!]!.type };
  }

  /** `accuracy(model_value, data_field)` */
  protected metric(x: Expr): TrainMetricSpec | undefined {
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
    if (!this.checkClassCount("accuracy", io, call!)) return undefined;
    return { kind: "accuracy", input: io.input, target: io.target };
  }

  /** Resolve `input` to a model value id and `target` to a data field (type known for mnist). */
  protected resolveIO(b: BoundCall): { input: string; target: string; targetType?: TensorType } | undefined {
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
  protected checkLossShapes(op: TrainLossSpec["op"], io: { input: string; target: string; targetType?: TensorType }, attrs: Record<string, AttrValue>, call: CallExpr): boolean {
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

}
