// buildTrainingGraph: forward graph + TrainSpec -> TrainingGraph (target inputs, loss ops, their weighted
// sum, gradGraph, optimGraph, and the inference-form eval graph). Neighbours: train/spec.ts (types),
// ir/ops/loss.ts, autodiff/grad.ts + optimizer.ts; train/driver.ts and the backends consume the result.

import type { Attrs, Graph } from "../ir/types.js";
import { showShape } from "../ir/graph.js";
import { OpTypeError } from "../ir/ops/def.js";
import { GraphEmitter } from "../autodiff/emit.js";
import { gradGraph } from "../autodiff/grad.js";
import { optimGraph, type OptimizerSpec } from "../autodiff/optimizer.js";
import { DROPOUT_RNG_INPUT } from "../autodiff/train-forward.js";
import { cloneGraph } from "../passes/clone.js";
import { dropUnfedInputs, lossReads } from "./prune.js";
import { optimizeGraph } from "../passes/pipeline.js";
import { activeLosses, frozenParams } from "./heads.js";
import type { FieldType, TrainDataInput, TrainSpec, TrainTensor, TrainingGraph } from "./spec.js";

/** A TrainSpec that does not fit the graph (unknown model value, bad target type, loss shape error). */
export class TrainSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TrainSpecError";
  }
}

/** Graph input names the training graph adds itself; a model may not use them. */
export const FIXED_INPUTS = ["lr", "step", DROPOUT_RNG_INPUT] as const;

/** Graph input name prefix of the loss weights (`loss_weight:<loss name>`, f32 [1], fixed inputs). */
export const LOSS_WEIGHT_PREFIX = "loss_weight:";

/** Default attrs of each loss op (PyTorch's defaults), completed by what the spec gives. */
const LOSS_DEFAULTS: Record<string, Attrs> = {
  mse: { reduction: "mean" },
  cross_entropy: { reduction: "mean", label_smoothing: 0 },
  binary_cross_entropy: { reduction: "mean" },
  kl_divergence: { reduction: "mean", log_target: false },
  gaussian_kl: { reduction: "mean" },
};

/**
 * Build the training graph of `graph` (a lowered inference-form forward graph) for `spec`
 * (spec/training.md §2):
 * 1. per loss/metric target a graph input named after its data field, type from `fieldTypes[field]`, else
 *    i32 [] (class indices) for cross_entropy / accuracy and the input's f32 per-sample shape otherwise; a
 *    target that is a model input (autoencoders) reuses that input;
 * 2. the loss ops (attrs completed with PyTorch defaults), `scale`d by their weight when ≠ 1, summed with
 *    `add` into `total_loss`; outputs `loss:<name>` and `total_loss`;
 * 3. `evalGraph` = that graph in inference form (optimizeGraph "infer": dropout removed, dead code gone);
 * 4. `graph` = optimGraph(gradGraph(…, { loss: total_loss }), { optimizer, clip: clip_grad_norm }).
 * `graph` is not modified. Errors: TrainSpecError for spec problems (unknown value, duplicate loss name,
 * a model input named lr/step/dropout_rng, loss input/target shapes that do not fit), Error for internal ones.
 */
export function buildTrainingGraph(graph: Graph, spec: TrainSpec, fieldTypes: Record<string, FieldType> = {}): TrainingGraph {
  for (const name of FIXED_INPUTS)
    if (graph.inputs.some((i) => i.name === name)) throw new TrainSpecError(`model input '${name}' clashes with the training graph's '${name}' input; rename it`);
  if (spec.losses.length === 0) throw new TrainSpecError("the train section has no loss");
  // Inputs no loss or metric needs (a CVAE's generation seed) are not fed while training (train/prune.ts).
  const reads = lossReads(spec.losses, spec.metrics);
  const g = cloneGraph(dropUnfedInputs(graph, reads.refs, reads.targets));
  const modelInputs = new Set(g.inputs.map((i) => i.name));
  const emit = new GraphEmitter(g, "t", "both");
  const field = (name: string): string => spec.data.fields[name] ?? name;

  const resolve = (ref: string, what: string): string => {
    if (g.values[ref] && g.values[ref]!.kind === "activation") return ref;
    const out = graph.outputs.find((o) => o.name === ref);
    if (out) return out.value;
    if (g.values[ref]) return ref;
    throw new TrainSpecError(`${what}: '${ref}' is not a value of model '${graph.name}' (outputs: ${graph.outputs.map((o) => o.name).join(", ")})`);
  };
  const targetInput = (name: string, fallback: FieldType, what: string): string => {
    const prev = g.inputs.find((i) => i.name === name);
    const want = fieldTypes[field(name)] ?? (prev ? undefined : fallback);
    if (prev) {
      const t = g.values[prev.value]!.type;
      if (want && (t.dtype !== want.dtype || showShape(t.shape) !== showShape(["N", ...want.shape])))
        throw new TrainSpecError(`${what}: input '${name}' is ${t.dtype}${showShape(t.shape)}, but its data field is ${want.dtype}${showShape(["N", ...want.shape])}`);
      return prev.value;
    }
    return emit.input(name, want!.dtype, ["N", ...want!.shape]);
  };
  const perSample = (id: string): number[] => g.values[id]!.type.shape.slice(1) as number[];

  const names = new Set<string>();
  const losses: TrainingGraph["losses"] = [];
  const terms: string[] = [];
  const active = activeLosses(spec);
  const frozen = frozenParams(graph, spec);
  // Loss weights are fixed inputs (set per epoch by the driver) when there are several losses or a schedule.
  const weightInputs = active.length > 1 || active.some((l) => l.weight_schedule !== undefined);
  for (const l of active) {
    const what = `loss '${l.name}'`;
    if (names.has(l.name)) throw new TrainSpecError(`${what} is defined twice`);
    names.add(l.name);
    if (!LOSS_DEFAULTS[l.op]) throw new TrainSpecError(`${what}: unknown loss op '${l.op}'`);
    const x = resolve(l.input, what);
    const fallback: FieldType = l.op === "cross_entropy" ? { dtype: "i32", shape: [] } : { dtype: "f32", shape: perSample(x) };
    const t = l.targetValue ? resolve(l.target, what) : targetInput(l.target, fallback, what);
    let value: string;
    try {
      value = emit.node1(l.op, [x, t], { ...LOSS_DEFAULTS[l.op], ...l.attrs });
    } catch (e) {
      if (e instanceof OpTypeError) throw new TrainSpecError(`${what}: ${e.message}`);
      throw e;
    }
    emit.output(`loss:${l.name}`, value);
    losses.push({ name: l.name, output: `loss:${l.name}`, value, weight: l.weight, ...(l.weight_schedule ? { weight_schedule: l.weight_schedule } : {}) });
  }

  const outputName = (id: string): string => {
    const out = g.outputs.find((o) => o.value === id && !o.name.startsWith("loss:") && o.name !== "total_loss");
    if (out) return out.name;
    emit.output(`value:${id}`, id);
    return `value:${id}`;
  };
  for (const l of active) outputName(resolve(l.input, ""));
  const metrics: TrainingGraph["metrics"] = spec.metrics.map((m) => {
    const x = resolve(m.input, `metric ${m.kind}`);
    targetInput(m.target, { dtype: "i32", shape: [] }, `metric ${m.kind}`);
    return { kind: m.kind, output: outputName(x), target: m.target };
  });

  const evalGraph = optimizeGraph(g, { mode: "infer" });

  // total_loss = Σ weight · loss (training graph only: the driver sums evaluation losses itself).
  for (const l of losses) {
    if (weightInputs) {
      l.weightInput = emit.input(`${LOSS_WEIGHT_PREFIX}${l.name}`, "f32", [1]);
      terms.push(emit.node1("mul", [l.value, l.weightInput]));
    } else terms.push(l.weight === 1 ? l.value : emit.node1("scale", [l.value, emit.constant([1], [l.weight])]));
  }
  const total = terms.slice(1).reduce((acc, v) => emit.node1("add", [acc, v]), terms[0]!);
  emit.output("total_loss", total);

  const { lr: _lr, ...optimizer } = spec.optimizer;
  const grad = gradGraph(g, { loss: total, frozen });
  const opt = optimGraph(grad, {
    optimizer: optimizer as OptimizerSpec,
    ...(spec.clip_grad_norm !== undefined ? { clip: { max_norm: spec.clip_grad_norm } } : {}),
  });

  const dataInput = (name: string, kind: TrainDataInput["kind"]): TrainDataInput => {
    const value = g.inputs.find((i) => i.name === name)!.value;
    const t = g.values[value]!.type;
    return { name, field: field(name), value, dtype: t.dtype as "f32" | "i32", shape: t.shape.slice(1) as number[], kind };
  };
  const targetNames = [...new Set([...active.filter((l) => !l.targetValue).map((l) => l.target), ...spec.metrics.map((m) => m.target)])];
  const targets = targetNames.map((n) => dataInput(n, modelInputs.has(n) ? "input" : "target"));
  const fixed = new Set([opt.lr, opt.step, grad.dropoutRng, ...losses.map((l) => l.weightInput)]);
  const dataInputs = g.inputs.filter((i) => !fixed.has(i.value) && !i.name.startsWith(LOSS_WEIGHT_PREFIX)).map((i) => dataInput(i.name, modelInputs.has(i.name) ? "input" : "target"));

  const forwardNames = new Set(Object.values(graph.values).filter((v) => v.kind === "param" || v.kind === "state").map((v) => v.name ?? v.id));
  const tensors: TrainTensor[] = [];
  for (const role of ["param", "state", "optim"] as const)
    for (const v of Object.values(opt.graph.values)) {
      if (v.kind !== "param" && v.kind !== "state") continue;
      const name = v.name ?? v.id;
      const r = v.kind === "param" ? "param" : forwardNames.has(name) ? "state" : "optim";
      if (r === role) tensors.push({ name, role, shape: [...(v.type.shape as number[])] });
    }

  const result: TrainingGraph = {
    graph: opt.graph,
    evalGraph,
    losses,
    totalLoss: total,
    updates: opt.updates,
    lr: opt.lr,
    targets,
    dataInputs,
    tensors,
    metrics,
  };
  if (opt.step !== undefined) result.step = opt.step;
  if (grad.dropoutRng !== undefined) result.dropoutRng = grad.dropoutRng;
  return result;
}
