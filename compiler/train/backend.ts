// The training backend interface (one train step, one eval step, tensor read/write) and its float64
// reference implementation over interp/reference.ts. Neighbours: train/driver.ts drives a TrainBackend;
// backend/wasm/train.ts implements the same interface over the compiled training module.

import type { RefTensor, WeightMap } from "../ir/types.js";
import { numel, showShape } from "../ir/graph.js";
import { runReference } from "../interp/reference.js";
import type { TrainingGraph, TrainTensor } from "./spec.js";

/** Per-batch data: graph input name (TrainingGraph.dataInputs[].name) -> [batch, ...per-sample] row-major. */
export type BatchFields = Record<string, Float32Array | Int32Array>;

/** One persistent tensor as a backend holds it (f32, PyTorch layout). */
export interface TrainTensorData {
  role: TrainTensor["role"];
  shape: number[];
  data: Float32Array;
}

/** Runtime scalars of one training step. */
export interface StepScalars {
  /** Learning rate of this step (the driver evaluates the schedule). */
  lr: number;
  /** Global step, counting from 1 (Adam's bias correction, dropout's RNG counter). */
  step: number;
  /** Run seed (dropout RNG = [seed, step]). */
  seed: number;
  /** Loss weights of this step by loss name (train/schedule.ts lossWeight); a missing one is TrainingGraph.losses[].weight. */
  lossWeights?: Record<string, number>;
}

/**
 * What the training driver needs from an executor of a TrainingGraph. Implementations: ReferenceTrainBackend
 * (float64 interpreter: slow, the oracle) and the wasm training module (backend/wasm/train.ts).
 * All methods are synchronous; errors (bad shapes, missing fields) are thrown as Error.
 */
export interface TrainBackend {
  /**
   * One optimizer step on a batch: forward (training forms), losses, backward, update; then every
   * `new:<name>` is written back. `fields` must hold every TrainingGraph.dataInputs name.
   * Returns each loss (by TrainSpec loss name) before the update.
   */
  trainStep(batch: number, fields: BatchFields, scalars: StepScalars): Record<string, number>;
  /**
   * Inference-form forward + losses, no update (validation/test). `fields` as trainStep. Returns the
   * losses by name and the evalGraph outputs (at least the model outputs and every metric's output),
   * each [batch, ...] row-major f32.
   */
  evalStep(batch: number, fields: BatchFields): { losses: Record<string, number>; outputs: Record<string, Float32Array> };
  /** Copies of every persistent tensor (params, state, optimizer state) by name. */
  readTensors(): Map<string, TrainTensorData>;
  /**
   * Overwrite the named tensors (any subset; `role` is ignored). Errors: an unknown name or a shape
   * or length that differs from the tensor's.
   */
  writeTensors(tensors: ReadonlyMap<string, { shape: number[]; data: Float32Array }>): void;
}

/**
 * Complete `weights` (params and state of the forward graph, e.g. from initWeights) with zeros for
 * the tensors it lacks (optimizer state), and check every shape against `tg.tensors`.
 * Errors: a missing param/state tensor, or a shape mismatch (message shows both shapes).
 */
export function completeTensors(tg: TrainingGraph, weights: WeightMap): Map<string, TrainTensorData> {
  const out = new Map<string, TrainTensorData>();
  for (const t of tg.tensors) {
    const w = weights.get(t.name);
    if (!w) {
      if (t.role !== "optim") throw new Error(`training: no initial value for ${t.role} '${t.name}' ${showShape(t.shape)}`);
      out.set(t.name, { role: t.role, shape: [...t.shape], data: new Float32Array(numel(t.shape)) });
      continue;
    }
    if (showShape(w.shape) !== showShape(t.shape))
      throw new Error(`training: '${t.name}' has shape ${showShape(w.shape)}, expected ${showShape(t.shape)}`);
    out.set(t.name, { role: t.role, shape: [...t.shape], data: Float32Array.from(w.data) });
  }
  return out;
}

/**
 * TrainBackend on the float64 reference interpreter (runReference): tensors are kept as f32 between
 * steps (as the wasm module keeps them), each step computes in float64. For tests and as the oracle.
 */
export class ReferenceTrainBackend implements TrainBackend {
  private readonly tensors: Map<string, TrainTensorData>;

  /** `weights`: initial params/state by name; optimizer state missing from it starts at zero. */
  constructor(
    private readonly tg: TrainingGraph,
    weights: WeightMap,
  ) {
    this.tensors = completeTensors(tg, weights);
  }

  private inputs(batch: number, fields: BatchFields, graphInputs: readonly string[]): Record<string, RefTensor> {
    const out: Record<string, RefTensor> = {};
    for (const d of this.tg.dataInputs) {
      if (!graphInputs.includes(d.name)) continue;
      const data = fields[d.name];
      if (!data) throw new Error(`training: batch has no field '${d.name}'`);
      const shape = [batch, ...d.shape];
      if (data.length !== numel(shape)) throw new Error(`training: field '${d.name}' has ${data.length} elements, expected ${numel(shape)} for ${showShape(shape)}`);
      out[d.name] = { shape, data: Float64Array.from(data) };
    }
    return out;
  }

  /** See TrainBackend.trainStep. */
  trainStep(batch: number, fields: BatchFields, scalars: StepScalars): Record<string, number> {
    const g = this.tg.graph;
    const inputs = this.inputs(batch, fields, g.inputs.map((i) => i.name));
    const name = (id: string): string => g.inputs.find((i) => i.value === id)!.name;
    inputs[name(this.tg.lr)] = { shape: [1], data: Float64Array.of(Math.fround(scalars.lr)) };
    if (this.tg.step !== undefined) inputs[name(this.tg.step)] = { shape: [1], data: Float64Array.of(scalars.step) };
    if (this.tg.dropoutRng !== undefined) inputs[name(this.tg.dropoutRng)] = { shape: [2], data: Float64Array.of(scalars.seed | 0, scalars.step | 0) };
    for (const l of this.tg.losses)
      if (l.weightInput !== undefined) inputs[name(l.weightInput)] = { shape: [1], data: Float64Array.of(Math.fround(scalars.lossWeights?.[l.name] ?? l.weight)) };
    const out = runReference(g, this.tensors, inputs, { batch });
    const losses: Record<string, number> = {};
    for (const l of this.tg.losses) losses[l.name] = Math.fround(out[l.output]!.data[0]!);
    for (const upd of Object.keys(this.tg.updates)) {
      const t = out[`new:${upd}`]!;
      this.tensors.get(upd)!.data.set(Float32Array.from(t.data));
    }
    return losses;
  }

  /** See TrainBackend.evalStep. */
  evalStep(batch: number, fields: BatchFields): { losses: Record<string, number>; outputs: Record<string, Float32Array> } {
    const g = this.tg.evalGraph;
    const out = runReference(g, this.tensors, this.inputs(batch, fields, g.inputs.map((i) => i.name)), { batch });
    const losses: Record<string, number> = {};
    for (const l of this.tg.losses) losses[l.name] = Math.fround(out[l.output]!.data[0]!);
    const outputs: Record<string, Float32Array> = {};
    for (const o of g.outputs) if (!o.name.startsWith("loss:") && o.name !== "total_loss") outputs[o.name] = Float32Array.from(out[o.name]!.data);
    return { losses, outputs };
  }

  /** See TrainBackend.readTensors. */
  readTensors(): Map<string, TrainTensorData> {
    const out = new Map<string, TrainTensorData>();
    for (const [name, t] of this.tensors) out.set(name, { role: t.role, shape: [...t.shape], data: Float32Array.from(t.data) });
    return out;
  }

  /** See TrainBackend.writeTensors. */
  writeTensors(tensors: ReadonlyMap<string, { shape: number[]; data: Float32Array }>): void {
    for (const [name, t] of tensors) {
      const own = this.tensors.get(name);
      if (!own) throw new Error(`training: unknown tensor '${name}'`);
      if (showShape(own.shape) !== showShape(t.shape) || own.data.length !== t.data.length)
        throw new Error(`training: tensor '${name}' has shape ${showShape(t.shape)}, expected ${showShape(own.shape)}`);
    }
    for (const [name, t] of tensors) this.tensors.get(name)!.data.set(t.data);
  }
}
