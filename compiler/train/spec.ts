// Types of the training contract (spec/training.md): TrainSpec (what a `train { ... }` section lowers to) and
// TrainingGraph (what train/build.ts makes of it). Neighbours: frontend/lower-train.ts produces TrainSpec,
// train/build.ts, train/driver.ts and backend/wasm/train.ts consume both.

import type { OptimizerSpec } from "../autodiff/optimizer.js";
import type { Attrs, DType, Graph } from "../ir/types.js";

/** Where the data comes from (spec/training.md §1 `data = ...`). */
export interface TrainDataSpec {
  source: "mnist" | "npz" | "npy" | "csv" | "safetensors" | "mnist_vqa";
  /** The one file of npz / csv / safetensors. */
  path?: string;
  /** npy: one file per field (field -> path). */
  paths?: Record<string, string>;
  /** Model input or loss target name -> field of the data file; a name absent here is its own field. */
  fields: Record<string, string>;
  /** mnist_vqa: seed of the answer / question draws (data/vqa.ts; default 0). */
  seed?: number;
  /** csv: the label column. */
  label?: string;
}

/** Train/validation/test split: counts of samples, or fractions of the data set (seeded). */
export interface TrainSplitSpec {
  train: number;
  validation: number;
  test: number;
  unit: "count" | "fraction";
}

/** One named loss term; the training loss is Σ weight · loss. */
export interface TrainLossSpec {
  /** Loss name (`loss NAME = ...`; `loss = ...` is "loss"). */
  name: string;
  op: "mse" | "cross_entropy" | "binary_cross_entropy" | "kl_divergence" | "gaussian_kl";
  /** The model value the loss reads: a value id of the forward graph (or a graph output name). */
  input: string;
  /** The data field holding the target; becomes a graph input of that name. */
  target: string;
  /** True when `target` is a second model value (value id), not a data field: gaussian_kl(mu, logvar). */
  targetValue?: boolean;
  /** The loss op's attrs (ir/ops/loss.ts): reduction, label_smoothing, log_target. */
  attrs: Attrs;
  /** Factor of this loss in the total. Default in the language 1.0. With a schedule: its final value. */
  weight: number;
  /** Per-epoch weight (train/schedule.ts lossWeight); absent: `weight` in every epoch. */
  weight_schedule?: LossWeightSchedule;
}

/**
 * A loss weight over epochs e = 1, 2, ... (spec/training.md §1): warmup = value · min(e, E) / E (linear from
 * value/E at epoch 1 to value at epoch E, then constant); ramp = start + (end - start) · (min(e, E) - 1) / (E - 1)
 * (start at epoch 1, end from epoch E on; E = 1: end).
 */
export type LossWeightSchedule = { kind: "warmup"; value: number; epochs: number } | { kind: "ramp"; start: number; end: number; epochs: number };

/**
 * A derived i32 data field (`field NAME = ...` in the train section), computed per sample from an i32 field
 * by data/derived.ts: relabel = table[source] (source must be in [0, table.length)); mod = source mod divisor
 * (Python's %, non-negative for divisor > 0); greater = 1 if source > threshold else 0.
 */
export type TrainDerivedField =
  | { name: string; op: "relabel"; source: string; table: number[] }
  | { name: string; op: "mod"; source: string; divisor: number }
  | { name: string; op: "greater"; source: string; threshold: number };

/** The optimizer: autodiff/optimizer.ts's OptimizerSpec plus the base learning rate. */
export type TrainOptimizerSpec = OptimizerSpec & { lr: number };

/**
 * Learning-rate schedule, evaluated per step in JS (train/schedule.ts): constant; step = StepLR
 * (lr · gamma^⌊epoch / step_size⌋); cosine = linear warm-up over `warmup_epochs` then cosine annealing to
 * `min_lr` over the remaining steps (CosineAnnealingLR stepped per iteration).
 */
export type TrainScheduleSpec =
  | { kind: "constant" }
  | { kind: "step"; step_size: number; gamma: number }
  | { kind: "cosine"; warmup_epochs: number; min_lr: number };

/** A metric computed on validation and test data (loss is always reported). */
export interface TrainMetricSpec {
  kind: "accuracy";
  /** Model value (logits [N, C]): value id or graph output name, as TrainLossSpec.input. */
  input: string;
  /** Data field with the labels (i32 class indices, or f32 probabilities: argmax). */
  target: string;
}

/** Data augmentation of image inputs ([C, H, W] fields), drawn per (seed, epoch, step). */
export type TrainAugmentSpec = { kind: "shift"; pixels: number } | { kind: "rotate"; degrees: number };

/** Everything a `train { ... }` section says (spec/training.md §1), after checking by lowerTrain. */
export interface TrainSpec {
  data: TrainDataSpec;
  split: TrainSplitSpec;
  losses: TrainLossSpec[];
  optimizer: TrainOptimizerSpec;
  schedule: TrainScheduleSpec;
  /** Clip the global gradient norm (torch.nn.utils.clip_grad_norm_, norm 2). Absent: no clipping. */
  clip_grad_norm?: number;
  batch_size: number;
  epochs: number;
  /** Seeds init, split, shuffling, augmentation and dropout. */
  seed: number;
  metrics: TrainMetricSpec[];
  /** Stop when the validation loss has not improved by more than min_delta for `patience` epochs. */
  early_stopping?: { patience: number; min_delta: number };
  augment: TrainAugmentSpec[];
  /** Derived data fields, in order (a later one may read an earlier one). Absent: none. */
  derived?: TrainDerivedField[];
  /**
   * Params that get no gradient and no update (and no optimizer state): layer names or name prefixes at a
   * `.` boundary (`stage1` = every `stage1.*`), or exact param names. Batchnorm layers whose params are
   * frozen run in inference form (running statistics, not updated), like PyTorch's module.eval().
   */
  freeze?: string[];
  /** The opposite of freeze: only these params train (mutually exclusive with freeze). */
  trainable?: string[];
  /** Active losses by name (default: all); the others are left out of the training graph. */
  heads?: string[];
}

/** Dtype and per-sample shape of a data field (what buildTrainingGraph needs to type a target input). */
export interface FieldType {
  dtype: Extract<DType, "f32" | "i32">;
  /** Per-sample shape, without the batch dimension ([] for one class index per sample). */
  shape: number[];
}

/** A graph input fed from the data per batch: a model input or a loss target. */
export interface TrainDataInput {
  /** Graph input name (the model input's name, or the target's data field name). */
  name: string;
  /** Data field it reads (TrainSpec.data.fields[name] ?? name). */
  field: string;
  /** Value id in both `graph` and `evalGraph`. */
  value: string;
  dtype: "f32" | "i32";
  /** Per-sample shape. */
  shape: number[];
  /** "input": a model input; "target": only read by losses / metrics. */
  kind: "input" | "target";
}

/** A persistent tensor of training: params, state (batchnorm running stats) and optimizer state. */
export interface TrainTensor {
  /** state_dict name: "fc.weight", "bn.running_mean", "fc.weight.exp_avg". */
  name: string;
  /** "param": trained; "state": model buffers; "optim": optimizer state (zero-initialized). */
  role: "param" | "state" | "optim";
  shape: number[];
}

/**
 * The training graph and how to drive it (spec/training.md §2). Both graphs take the same data inputs and
 * read the same params/state by name; only `graph` has the fixed inputs and updates.
 */
export interface TrainingGraph {
  /**
   * Forward (training forms) + losses + backward + optimizer updates. Fixed inputs (no batch dim): `lr`,
   * `step` (f32 [1], not for sgd), `dropout_rng` (i32 [2] = [seed, step], when there is dropout). Outputs:
   * the model outputs, `loss:<name>` per loss and `total_loss` (f32 [1], fixed outputs); `loss_weight:<name>`
   * (f32 [1]) fixed inputs when `losses[].weightInput` is set, `grad:*`, `state:*`,
   * and `new:<name>` for every param/state/optim tensor to write back after the step.
   */
  graph: Graph;
  /**
   * Inference form (dropout = identity, batchnorm with running statistics) + losses, no gradients: what
   * `eval_step` runs. Outputs: the model outputs, `loss:<name>` (no total: the driver weights them), and `value:<id>` for loss or
   * metric inputs that are not model outputs.
   */
  evalGraph: Graph;
  /**
   * The active loss terms (TrainSpec.heads) in TrainSpec order: graph output name (`loss:<name>`), value id
   * in `graph`, weight (constant, or the schedule's final value) and schedule. `weightInput`: value id of the
   * fixed input `loss_weight:<name>` (f32 [1]) when the weights are inputs (several losses or a schedule);
   * the driver writes train/schedule.ts lossWeight(loss, epoch) into it every step.
   */
  losses: { name: string; output: string; value: string; weight: number; weight_schedule?: LossWeightSchedule; weightInput?: string }[];
  /** Value id of the weighted sum (graph output `total_loss`) in `graph`. */
  totalLoss: string;
  /** Tensor name -> value id of its new value (graph output `new:<name>`). */
  updates: Record<string, string>;
  /** Value id of the `lr` input. */
  lr: string;
  /** Value id of the `step` input (momentum/adam/adamw). */
  step?: string;
  /** Value id of the `dropout_rng` input (graphs with dropout). */
  dropoutRng?: string;
  /** The loss and metric targets (a target may be a model input, kind "input", for autoencoders). */
  targets: TrainDataInput[];
  /** Every graph input fed from data per batch, in graph order: model inputs, then added targets. */
  dataInputs: TrainDataInput[];
  /** Every persistent tensor, params then state then optimizer state, in graph order. */
  tensors: TrainTensor[];
  /** Metrics with the evalGraph output they read. */
  metrics: { kind: "accuracy"; output: string; target: string }[];
}
