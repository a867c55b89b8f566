// The training loop: seeded split, per-epoch order, batches, augmentation, lr schedule, train/eval steps on a
// TrainBackend, metrics, early stopping, checkpoints (resume bit-for-bit) and learning curves per epoch.
// Neighbours: train/backend.ts, checkpoint.ts, curves.ts, schedule.ts, data/* (split, batches, augment); cli/train.ts.

import { mkdir, readdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { WeightMap } from "../ir/types.js";
import { BatchBuffers, batches } from "../data/batches.js";
import { type Dataset, type Field, fieldOf, shapeText } from "../data/dataset.js";
import { toF32, toI32 } from "../data/labels.js";
import { epochOrder, splitDataset } from "../data/split.js";
import type { BatchFields, TrainBackend } from "./backend.js";
import { CHECKPOINT_FILE, CheckpointError, loadCheckpoint, readCheckpointConfig, saveCheckpoint, type TrainState } from "./checkpoint.js";
import { activeLosses } from "./heads.js";
import { writeCurves } from "./curves.js";
import { emptyHistory, type EpochRecord, type History, type SplitMetrics } from "./history.js";
import { learningRate, lossWeight } from "./schedule.js";
import { createAugmenter } from "./augment-batch.js";
import type { TrainSpec, TrainingGraph } from "./spec.js";
import { embeddingIdRanges, firstOutOfRange, type IdRange } from "../ir/id-ranges.js";

/** Progress events, in order: start, (step* epoch)*, test, done. `epoch` indices are 0-based. */
export type TrainProgress =
  | { kind: "start"; epochs: number; stepsPerEpoch: number; fromEpoch: number; fromBatch: number; samples: { train: number; validation: number; test: number } }
  | { kind: "step"; epoch: number; batch: number; stepsPerEpoch: number; step: number; loss: number; lr: number; samplesPerSecond: number }
  | { kind: "epoch"; record: EpochRecord; epochs: number; seconds: number; samplesPerSecond: number; stopped: boolean }
  | { kind: "interrupted"; epoch: number; batch: number; step: number; checkpoint: string }
  | { kind: "test"; metrics: SplitMetrics };

/** Options of `train`. */
export interface TrainOptions {
  /** The training graph (train/build.ts) the backend runs. */
  graph: TrainingGraph;
  spec: TrainSpec;
  /** Executor of `graph`, holding the initial tensors (or any: `resume` overwrites them). */
  backend: TrainBackend;
  /** The whole data set; split here with spec.split and spec.seed. */
  data: Dataset;
  /** Where checkpoint.safetensors and curves.{csv,json,svg} go (created if missing). */
  outDir: string;
  /** Continue from `outDir/checkpoint.safetensors` (error if absent). Default false: start fresh. */
  resume?: boolean;
  /** Model inputs the caller fed as zeros (cli/train.ts --ablate): recorded in the run config. Default none. */
  ablate?: readonly string[];
  /** Absolute path of the `.model` file trained: recorded in the run config so `modelc eval` finds the targets. */
  modelFile?: string;
  onProgress?: (event: TrainProgress) => void;
  /** Abort (e.g. on SIGINT): the current step finishes, a checkpoint is written, `status` is "interrupted". */
  signal?: AbortSignal;
}

/** Result of `train`. */
export interface TrainResult {
  /** "completed" (all epochs), "early_stopped", or "interrupted" (signal; checkpoint written, no test). */
  status: "completed" | "early_stopped" | "interrupted";
  /** Completed epochs and optimizer steps. */
  epochs: number;
  steps: number;
  history: History;
  /** Test-split metrics (absent when interrupted or the test split is empty). */
  test?: SplitMetrics;
  /** Params and state after training (no optimizer state): what the inference artifact is compiled with. */
  weights: WeightMap;
  /** Path of the last checkpoint written. */
  checkpoint: string;
  /** The run's settings as stored in the checkpoint's `config` (runConfig). */
  config: RunConfig;
}

/** Thrown when a training loss or the weights become non-finite (NaN / ±Infinity): the run stops. */
export class TrainDivergedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TrainDivergedError";
  }
}

/** Longest stretch of synchronous train steps before the loop yields to the event loop (ms). */
const YIELD_MS = 50;

/**
 * Remove temp files that io/atomic.ts left in `dir` when an earlier run was killed mid-write (SIGKILL):
 * `.NAME.PID.HEX.tmp` of our own files whose PID is no longer running. Best effort; returns how many.
 */
export async function removeStaleTemps(dir: string): Promise<number> {
  let removed = 0;
  for (const f of await readdir(dir).catch(() => [] as string[])) {
    const m = /^\.(checkpoint\.safetensors|curves\.(?:csv|json|svg))\.(\d+)\.[0-9a-f]+\.tmp$/.exec(f);
    if (!m) continue;
    const pid = Number(m[2]);
    if (pid === process.pid) continue;
    try {
      process.kill(pid, 0);
      continue; // still running: not ours to delete
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ESRCH") continue;
    }
    await unlink(join(dir, f)).then(() => removed++, () => undefined);
  }
  return removed;
}

/** Thrown for data that does not fit the training graph (missing field, wrong per-sample shape). */
export class TrainDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TrainDataError";
  }
}

/**
 * The dataset restricted to the fields the graph reads, each converted to its graph input's dtype (f32
 * <-> i32 via data/labels.ts) and checked against its per-sample shape; fields read as ids by an
 * embedding are checked against its table ("data field 'question' for input 'tokens': value 57 at
 * [0, 3] is outside [0, 50) (embedding 'q_embed.weight' has 50 rows)", index = [sample, ...]).
 * Errors: TrainDataError.
 */
export function prepareData(tg: TrainingGraph, data: Dataset): Dataset {
  const fields: Record<string, Field> = {};
  const ranges = embeddingIdRanges(tg.graph);
  for (const d of tg.dataInputs) {
    let f: Field;
    try {
      f = fieldOf(data, d.field);
    } catch (e) {
      throw new TrainDataError(`graph input '${d.name}': ${(e as Error).message}`);
    }
    if (f.shape.join(",") !== d.shape.join(",") && !(f.shape.length === 1 && f.shape[0] === 1 && d.shape.length === 0))
      throw new TrainDataError(`data field '${d.field}' is ${f.dtype} ${shapeText(f.shape)} per sample, but '${d.name}' needs ${d.dtype} ${shapeText(d.shape)}`);
    try {
      f = d.dtype === "f32" ? toF32(f) : toI32(f);
    } catch (e) {
      throw new TrainDataError(`data field '${d.field}' for '${d.name}': ${(e as Error).message}`);
    }
    fields[d.field] = { ...f, shape: [...d.shape] };
    const range = ranges.get(d.name);
    if (range) checkIds(d.field, d.name, f.data, d.shape, range);
  }
  return { count: data.count, fields };
}

/** TrainDataError at the first value of `data` outside `range` (index [sample, ...per-sample dims]). */
function checkIds(field: string, input: string, data: ArrayLike<number>, shape: readonly number[], range: IdRange): void {
  const bad = firstOutOfRange(data, shape, range.lo, range.hi);
  if (bad)
    throw new TrainDataError(
      `data field '${field}' for input '${input}': value ${bad.value} at [${bad.at.join(", ")}] is outside [${range.lo}, ${range.hi}) (embedding '${range.weight}' has ${range.hi} rows)`,
    );
}

/** Per-loss contribution of one batch to a split average: a "sum" loss adds itself, others loss · batch. */
function contribution(tg: TrainingGraph, spec: TrainSpec, losses: Record<string, number>, batch: number, sums: Record<string, number>): void {
  for (const l of tg.losses) {
    const reduction = spec.losses.find((s) => s.name === l.name)?.attrs["reduction"] ?? "mean";
    sums[l.name] = (sums[l.name] ?? 0) + (reduction === "sum" ? losses[l.name]! : losses[l.name]! * batch);
  }
}

/** Loss weights of 0-based `epoch` by loss name (schedule.ts lossWeight). */
export function epochWeights(tg: TrainingGraph, epoch: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of tg.losses) out[l.name] = lossWeight(l, epoch);
  return out;
}

/** Average loss per sample (÷ samples) of each loss and the weighted total, from contribution sums. */
function meanLosses(tg: TrainingGraph, sums: Record<string, number>, samples: number, weights: Record<string, number>): { loss: number; losses: Record<string, number> } {
  const losses: Record<string, number> = {};
  let loss = 0;
  for (const l of tg.losses) {
    losses[l.name] = (sums[l.name] ?? 0) / samples;
    loss += weights[l.name]! * losses[l.name]!;
  }
  return { loss, losses };
}

/**
 * Total loss of one batch per sample (Σ weight · loss, a "sum" loss ÷ batch), so the step curve and the
 * progress line share the epoch means' scale (a VAE's summed ELBO would otherwise be batch times larger).
 */
function totalLoss(tg: TrainingGraph, spec: TrainSpec, losses: Record<string, number>, weights: Record<string, number>, batch: number): number {
  let s = 0;
  for (const l of tg.losses) {
    const sum = spec.losses.find((x) => x.name === l.name)?.attrs["reduction"] === "sum";
    s += (weights[l.name]! * losses[l.name]!) / (sum ? batch : 1);
  }
  return s;
}

/** Whether the losses have names of their own (several, or one not called "loss"): then they are shown per name. */
export function namedLosses(tg: Pick<TrainingGraph, "losses">): boolean {
  return tg.losses.length > 1 || tg.losses.some((l) => l.name !== "loss");
}

/** Metric names: "accuracy", or "accuracy(<output>)" when there are several. */
function metricName(tg: TrainingGraph, k: number): string {
  const m = tg.metrics[k]!;
  return tg.metrics.length === 1 ? m.kind : `${m.kind}(${m.output})`;
}

/** Number of rows of `logits` (row-major [n, C]) whose argmax (first maximum) equals the target class. */
function correctCount(logits: Float32Array, n: number, target: Float32Array | Int32Array): number {
  const C = logits.length / n;
  const tC = target.length / n;
  let correct = 0;
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (logits[r * C + c]! > logits[r * C + best]!) best = c;
    let label = target[r]!;
    if (tC > 1) {
      label = 0;
      for (let c = 1; c < tC; c++) if (target[r * tC + c]! > target[r * tC + label]!) label = c;
    }
    if (best === label) correct++;
  }
  return correct;
}

/** Field record keyed by graph input name from a batch keyed by data field. */
function byInput(tg: TrainingGraph, fields: Record<string, Float32Array | Int32Array>): BatchFields {
  const out: BatchFields = {};
  for (const d of tg.dataInputs) out[d.name] = fields[d.field]!;
  return out;
}

/**
 * Evaluate `ds` (prepared, fields as prepareData) in order, batch by batch with `evalStep`: mean losses
 * per sample (as meanLosses) and accuracy metrics. An empty split gives NaN losses and metrics.
 */
export function evaluate(tg: TrainingGraph, spec: TrainSpec, backend: TrainBackend, ds: Dataset, batchSize: number, weights = epochWeights(tg, spec.epochs - 1)): SplitMetrics {
  const sums: Record<string, number> = {};
  const correct = tg.metrics.map(() => 0);
  const order = Int32Array.from({ length: ds.count }, (_, i) => i);
  const names = [...new Set(tg.dataInputs.map((d) => d.field))];
  for (const b of batches(ds, order, batchSize, { fields: names })) {
    const fields = byInput(tg, b.fields);
    const r = backend.evalStep(b.batch, fields);
    contribution(tg, spec, r.losses, b.batch, sums);
    tg.metrics.forEach((m, k) => {
      const out = r.outputs[m.output];
      if (!out) throw new Error(`evalStep returned no output '${m.output}' for metric ${m.kind}`);
      correct[k]! += correctCount(out, b.batch, fields[m.target]!);
    });
  }
  const metrics: Record<string, number> = {};
  tg.metrics.forEach((_, k) => (metrics[metricName(tg, k)] = correct[k]! / ds.count));
  return { ...meanLosses(tg, sums, ds.count, weights), metrics, samples: ds.count };
}

/**
 * Settings a resumed run must share with the run that wrote the checkpoint (its `config` metadata): data,
 * split, batch size, seed, augmentation, the loss names, and what trains: the active heads, freeze /
 * trainable (null when not given) and the ablated inputs ([] when none).
 */
export interface RunConfig {
  data: TrainSpec["data"];
  split: TrainSpec["split"];
  batch_size: number;
  seed: number;
  augment: TrainSpec["augment"];
  losses: string[];
  heads: string[];
  freeze: string[] | null;
  trainable: string[] | null;
  ablate: string[];
  /** The train section's derived fields (not compared on resume; `modelc eval` recomputes them). */
  derived?: TrainSpec["derived"];
  /** Absolute path of the `.model` file (not compared on resume: the file may move). */
  model_file?: string;
}

/** The RunConfig of `spec` (+ the ablated inputs and the `.model` file, when known). */
export function runConfig(spec: TrainSpec, ablate: readonly string[] = [], modelFile?: string): RunConfig {
  return {
    data: spec.data, split: spec.split, batch_size: spec.batch_size, seed: spec.seed, augment: spec.augment, losses: spec.losses.map((l) => l.name),
    heads: activeLosses(spec).map((l) => l.name), freeze: spec.freeze ? [...spec.freeze] : null, trainable: spec.trainable ? [...spec.trainable] : null, ablate: [...ablate],
    ...(spec.derived && spec.derived.length > 0 ? { derived: spec.derived } : {}),
    ...(modelFile !== undefined ? { model_file: modelFile } : {}),
  };
}

/** Same list up to order (null = not given). */
export function sameList(a: readonly string[] | null | undefined, b: readonly string[] | null | undefined): boolean {
  if (!a || !b) return (a ?? null) === (b ?? null);
  return JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
}

/** "heads digit, parity with freeze stage1, stage2" (what trains in a run). */
export function selectionText(c: Pick<RunConfig, "heads" | "freeze" | "trainable">): string {
  const sel = c.freeze ? `freeze ${c.freeze.join(", ")}` : c.trainable ? `trainable ${c.trainable.join(", ")}` : "nothing frozen";
  return `heads ${c.heads.join(", ")} with ${sel}`;
}

/**
 * Check that a run with config `now` may resume from a checkpoint whose `config` metadata is `saved` (JSON).
 * Keys an older checkpoint lacks are not compared. Errors: CheckpointError naming what differs; another
 * heads / freeze / trainable selection points to --init (a new run from these weights).
 */
export function checkResumeConfig(path: string, saved: string, now: RunConfig): void {
  let old: Partial<RunConfig>;
  try {
    old = JSON.parse(saved) as Partial<RunConfig>;
  } catch {
    throw new CheckpointError(`${path}: checkpoint metadata 'config' is not JSON`);
  }
  const has = (k: keyof RunConfig): boolean => Object.prototype.hasOwnProperty.call(old, k);
  const selDiffers = (has("heads") && !sameList(old.heads, now.heads)) || (has("freeze") && !sameList(old.freeze, now.freeze)) || (has("trainable") && !sameList(old.trainable, now.trainable));
  if (selDiffers) {
    const was = { heads: old.heads ?? now.heads, freeze: old.freeze ?? null, trainable: old.trainable ?? null };
    throw new CheckpointError(
      `${path}: the checkpoint's run trained ${selectionText(was)}; this run asks for ${selectionText(now)}. --resume continues that same run; ` +
        `to start a new run from these weights use --init ${path} (not --resume) with another -o DIR`,
    );
  }
  if (has("ablate") && !sameList(old.ablate, now.ablate)) {
    const t = (a: readonly string[] | undefined): string => (a && a.length ? `--ablate ${a.join(",")}` : "no --ablate");
    throw new CheckpointError(`${path}: the checkpoint's run was trained with ${t(old.ablate)}; this run asks for ${t(now.ablate)}. --resume needs the same inputs ablated (omit --ablate to take the checkpoint's)`);
  }
  const other = (["data", "split", "batch_size", "seed", "augment", "losses"] as const).filter((k) => has(k) && JSON.stringify(old[k]) !== JSON.stringify(now[k]));
  if (other.length > 0)
    throw new CheckpointError(`${path} was written with other settings (${other.join(", ")}); resume needs the same ones (checkpoint: ${other.map((k) => `${k} ${JSON.stringify(old[k])}`).join("; ")})`);
}

/** Name of the first non-finite value among `losses` ("loss 'parity' is NaN"), else the total's. */
function nonFiniteLoss(tg: TrainingGraph, losses: Record<string, number>, total: number): string {
  const bad = tg.losses.find((l) => !Number.isFinite(losses[l.name]!));
  return bad ? `loss '${bad.name}' is ${losses[bad.name]}` : `the weighted total loss is ${total}`;
}

/** First param/state tensor holding a non-finite value, or undefined. */
function nonFiniteTensor(tensors: ReadonlyMap<string, { role: string; data: Float32Array }>): string | undefined {
  for (const [name, t] of tensors) {
    if (t.role === "optim") continue;
    const d = t.data;
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) return name;
  }
  return undefined;
}

/** Params and state (not optimizer state) of the backend, as a WeightMap. */
function modelWeights(backend: TrainBackend): WeightMap {
  const out: WeightMap = new Map();
  for (const [name, t] of backend.readTensors()) if (t.role !== "optim") out.set(name, { shape: t.shape, data: t.data });
  return out;
}

/**
 * Train (spec/training.md §4). The split (spec.split, spec.seed), each epoch's order (epochOrder(seed,
 * epoch)), augmentation (seed, epoch, sample) and dropout ([seed, step]) depend on nothing else, so
 * `resume` continues bit-for-bit: the curves and weights equal an uninterrupted run's. Each epoch: train
 * over all batches (last one smaller, as DataLoader drop_last=False), evaluate the validation split,
 * update early stopping (improvement = val loss < best − min_delta; stop after `patience` epochs without),
 * then write the checkpoint and curves atomically. At the end, evaluate the test split. A non-finite
 * training loss (checked every step) or non-finite weights (checked before each checkpoint) stop the run
 * with TrainDivergedError; the checkpoint on disk keeps the last finite weights.
 * Errors: TrainDataError (data vs graph), CheckpointError (resume: other settings, checkResumeConfig, or
 * tensors that do not fit), TrainDivergedError, backend errors, fs errors.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const { graph: tg, spec, backend } = options;
  const data = prepareData(tg, options.data);
  const split = splitDataset(data, { train: spec.split.train, validation: spec.split.validation, test: spec.split.test }, spec.seed);
  if (split.train.count === 0) throw new TrainDataError(`the training split is empty (${data.count} samples, split ${JSON.stringify(spec.split)})`);
  const bs = spec.batch_size;
  const stepsPerEpoch = Math.ceil(split.train.count / bs);
  await mkdir(options.outDir, { recursive: true });
  await removeStaleTemps(options.outDir);
  const ckptPath = join(options.outDir, CHECKPOINT_FILE);
  const runCfg = runConfig(spec, options.ablate, options.modelFile);
  const config = JSON.stringify(runCfg);

  let state: TrainState = {
    epoch: 0, batch: 0, step: 0, seed: spec.seed, lr: 0, bestValLoss: Infinity, badEpochs: 0, stopped: false,
    partial: { sums: {}, samples: 0 }, history: emptyHistory(), config,
  };
  /** Where the checkpoint on disk stands for this run (undefined: none written or loaded yet). */
  let onDisk: { epoch: number; batch: number; step: number } | undefined;
  if (options.resume) {
    // Settings first: another heads/freeze selection would otherwise surface as a list of tensor mismatches.
    checkResumeConfig(ckptPath, await readCheckpointConfig(ckptPath), runCfg);
    const ck = await loadCheckpoint(ckptPath, tg.tensors);
    backend.writeTensors(ck.tensors);
    state = { ...ck.state, config };
    onDisk = { epoch: state.epoch, batch: state.batch, step: state.step };
  }
  const diverged = (what: string, epoch: number, batch: number, step: number): TrainDivergedError => {
    const kept = onDisk
      ? `${ckptPath} keeps the last finite weights (${onDisk.batch > 0 ? `epoch ${onDisk.epoch + 1} step ${onDisk.batch}` : `end of epoch ${onDisk.epoch}`}, step ${onDisk.step})`
      : "no checkpoint was written";
    const lr = learningRate(spec.schedule, spec.optimizer.lr, { epoch, batch, stepsPerEpoch, epochs: spec.epochs });
    return new TrainDivergedError(
      `training diverged in epoch ${epoch + 1}, step ${batch + 1} of ${stepsPerEpoch} (step ${step} overall): ${what}; stopped, ${kept}. ` +
        `Lower the learning rate (now ${+lr.toPrecision(4)}; --lr)${spec.clip_grad_norm === undefined ? " or add clip_grad_norm = 1.0 to the train section" : ""}`,
    );
  };
  const emit = options.onProgress ?? (() => undefined);
  emit({ kind: "start", epochs: spec.epochs, stepsPerEpoch, fromEpoch: state.epoch, fromBatch: state.batch, samples: { train: split.train.count, validation: split.validation.count, test: split.test.count } });
  /** Write the checkpoint, unless the weights are no longer finite (then keep the one on disk and throw). */
  const save = async (): Promise<void> => {
    const tensors = backend.readTensors();
    const bad = nonFiniteTensor(tensors);
    if (bad !== undefined) {
      const b = state.batch === 0 ? stepsPerEpoch - 1 : state.batch - 1;
      throw diverged(`'${bad}' holds a non-finite value after the update`, state.batch === 0 ? state.epoch - 1 : state.epoch, b, state.step);
    }
    await saveCheckpoint(ckptPath, tensors, state);
    onDisk = { epoch: state.epoch, batch: state.batch, step: state.step };
  };
  const names = [...new Set(tg.dataInputs.map((d) => d.field))];
  const buffers = new BatchBuffers(split.train, bs, names);
  const order = new Int32Array(split.train.count);
  const augment = createAugmenter(spec, tg);
  let lastYield = performance.now();

  while (state.epoch < spec.epochs && !state.stopped) {
    const epoch = state.epoch;
    const started = performance.now();
    const samplesBefore = state.partial.samples;
    epochOrder(split.train.count, spec.seed, epoch, order);
    const lossWeights = epochWeights(tg, epoch);
    const rest = order.subarray(state.batch * bs);
    for (const b of batches(split.train, rest, bs, { fields: names, buffers })) {
      const batch = state.batch;
      augment(b.fields, b.samples, epoch, b.batch);
      const lr = learningRate(spec.schedule, spec.optimizer.lr, { epoch, batch, stepsPerEpoch, epochs: spec.epochs });
      const step = state.step + 1;
      const losses = backend.trainStep(b.batch, byInput(tg, b.fields), { lr, step, seed: spec.seed, lossWeights });
      const loss = totalLoss(tg, spec, losses, lossWeights, b.batch);
      if (!Number.isFinite(loss)) throw diverged(nonFiniteLoss(tg, losses, loss), epoch, batch, step);
      contribution(tg, spec, losses, b.batch, state.partial.sums);
      state.partial.samples += b.batch;
      state.step = step;
      state.batch = batch + 1;
      state.lr = lr;
      state.history.steps.push({ step, x: epoch + (batch + 1) / stepsPerEpoch, loss, lr });
      const secs = (performance.now() - started) / 1000;
      emit({ kind: "step", epoch, batch, stepsPerEpoch, step, loss, lr, samplesPerSecond: secs > 0 ? (state.partial.samples - samplesBefore) / secs : 0 });
      if (performance.now() - lastYield > YIELD_MS) {
        // let SIGINT handlers and the progress bar's timers run (the steps themselves are synchronous)
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
      if (options.signal?.aborted && state.batch < stepsPerEpoch) {
        await save();
        emit({ kind: "interrupted", epoch, batch: state.batch, step, checkpoint: ckptPath });
        return { status: "interrupted", epochs: state.epoch, steps: state.step, history: state.history, weights: modelWeights(backend), checkpoint: ckptPath, config: runCfg };
      }
    }
    const train: SplitMetrics = { ...meanLosses(tg, state.partial.sums, state.partial.samples, lossWeights), metrics: {}, samples: state.partial.samples };
    const record: EpochRecord = { epoch: epoch + 1, step: state.step, lr: state.lr, train };
    if (namedLosses(tg) || tg.losses.some((l) => l.weight_schedule || l.weight !== 1)) record.weights = lossWeights;
    if (split.validation.count > 0) {
      record.validation = evaluate(tg, spec, backend, split.validation, bs, lossWeights);
      const val = record.validation.loss;
      if (val < state.bestValLoss - (spec.early_stopping?.min_delta ?? 0)) {
        state.bestValLoss = val;
        state.badEpochs = 0;
      } else state.badEpochs++;
      if (spec.early_stopping && state.badEpochs >= spec.early_stopping.patience) state.stopped = true;
    }
    state.history.epochs.push(record);
    state.epoch = epoch + 1;
    state.batch = 0;
    state.partial = { sums: {}, samples: 0 };
    await save();
    await writeCurves(options.outDir, state.history);
    const seconds = (performance.now() - started) / 1000;
    emit({ kind: "epoch", record, epochs: spec.epochs, seconds, samplesPerSecond: seconds > 0 ? (train.samples - samplesBefore) / seconds : 0, stopped: state.stopped });
    if (options.signal?.aborted && state.epoch < spec.epochs && !state.stopped) {
      emit({ kind: "interrupted", epoch: state.epoch, batch: 0, step: state.step, checkpoint: ckptPath });
      return { status: "interrupted", epochs: state.epoch, steps: state.step, history: state.history, weights: modelWeights(backend), checkpoint: ckptPath, config: runCfg };
    }
  }
  if (state.history.epochs.length > 0) await writeCurves(options.outDir, state.history);
  const result: TrainResult = {
    status: state.stopped ? "early_stopped" : "completed",
    epochs: state.epoch,
    steps: state.step,
    history: state.history,
    weights: modelWeights(backend),
    checkpoint: ckptPath,
    config: runCfg,
  };
  if (split.test.count > 0) {
    result.test = evaluate(tg, spec, backend, split.test, bs, epochWeights(tg, Math.max(0, state.epoch - 1)));
    emit({ kind: "test", metrics: result.test });
  }
  return result;
}
