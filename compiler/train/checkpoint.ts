// Training checkpoints: params, state and optimizer state plus the driver's whole state (position, early
// stopping, curves) in one safetensors file, written atomically. Neighbours: train/driver.ts saves and
// restores them; weights/safetensors.ts (format), io/atomic.ts (temp file + rename), train/history.ts.

import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "../io/atomic.js";
import { parseSafetensors, writeSafetensors } from "../weights/safetensors.js";
import type { TrainTensorData } from "./backend.js";
import type { History } from "./history.js";
import type { TrainTensor } from "./spec.js";

/** File name of the checkpoint inside the output directory. */
export const CHECKPOINT_FILE = "checkpoint.safetensors";

/** `__metadata__.format` of the checkpoints this module writes. */
export const CHECKPOINT_FORMAT = "modelc-checkpoint/1";

/** Prefix of optimizer-state tensors in the file (`optim.fc.weight.exp_avg`); params and state keep their names. */
export const OPTIM_PREFIX = "optim.";

/**
 * Everything the driver needs to continue a run exactly where it stopped. Data order, augmentation and
 * dropout are functions of (seed, epoch, step), so this plus the tensors is the whole state.
 */
export interface TrainState {
  /** Completed epochs. */
  epoch: number;
  /** Batches already done in epoch `epoch` (0 at an epoch boundary; > 0 after an interrupt mid-epoch). */
  batch: number;
  /** Optimizer steps done so far (the next step is step + 1). */
  step: number;
  /** Run seed. */
  seed: number;
  /** Learning rate of the last step (0 before the first). */
  lr: number;
  /** Best validation loss so far (Infinity before the first validation). */
  bestValLoss: number;
  /** Epochs since the validation loss last improved by more than min_delta. */
  badEpochs: number;
  /** True once early stopping has fired: a resumed run only evaluates. */
  stopped: boolean;
  /** Sums of the current, unfinished epoch: Σ per-loss contribution, and samples seen. */
  partial: { sums: Record<string, number>; samples: number };
  /** Curves so far. */
  history: History;
  /** Settings a resumed run must share (data, split, batch size, seed, heads, freeze, ablation, ...), as JSON; see driver.ts RunConfig. */
  config: string;
}

/** Thrown for a checkpoint that cannot be used (unreadable, another format, another model). */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

/** JSON with non-finite numbers kept (NaN, ±Infinity as tagged strings): losses can diverge. */
export function stringifyJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? `__num:${v}` : v));
}

/** Inverse of stringifyJson. Finite doubles round-trip exactly (JSON uses the shortest exact form). */
export function parseJson<T>(text: string): T {
  return JSON.parse(text, (_k, v: unknown) => (typeof v === "string" && v.startsWith("__num:") ? Number(v.slice(6)) : v)) as T;
}

const STATE_KEYS = ["epoch", "batch", "step", "seed", "lr", "best_val_loss", "bad_epochs", "stopped", "partial", "curves", "config"] as const;

/**
 * Serialize tensors + state to safetensors bytes. Tensors of role "optim" are stored as `optim.<name>`.
 * `__metadata__` holds `format` and one JSON string per TrainState field (spec/training.md §4: epoch, step,
 * seed, lr, best validation loss, the early-stopping counter, the curves so far, ...).
 */
export function encodeCheckpoint(tensors: ReadonlyMap<string, TrainTensorData>, state: TrainState): Uint8Array {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of tensors) out.set(t.role === "optim" ? OPTIM_PREFIX + name : name, { shape: t.shape, data: t.data });
  const values: Record<(typeof STATE_KEYS)[number], unknown> = {
    epoch: state.epoch,
    batch: state.batch,
    step: state.step,
    seed: state.seed,
    lr: state.lr,
    best_val_loss: state.bestValLoss,
    bad_epochs: state.badEpochs,
    stopped: state.stopped,
    partial: state.partial,
    curves: state.history,
    config: state.config,
  };
  const metadata: Record<string, string> = { format: CHECKPOINT_FORMAT };
  for (const k of STATE_KEYS) metadata[k] = stringifyJson(values[k]);
  return writeSafetensors(out, metadata);
}

/**
 * Parse checkpoint bytes against the training graph's tensor list: every tensor must be present with its
 * shape (optimizer state under `optim.`), and nothing else. Returns the tensors (roles from `expected`)
 * and the state. Errors: CheckpointError naming the problem (not safetensors, not a modelc checkpoint,
 * missing/extra/mis-shaped tensors, bad metadata).
 */
export function decodeCheckpoint(bytes: Uint8Array, expected: readonly TrainTensor[]): { tensors: Map<string, TrainTensorData>; state: TrainState } {
  let parsed;
  try {
    parsed = parseSafetensors(bytes);
  } catch (e) {
    throw new CheckpointError((e as Error).message);
  }
  const meta = parsed.metadata;
  if (meta["format"] !== CHECKPOINT_FORMAT) throw new CheckpointError(`not a modelc checkpoint (format ${JSON.stringify(meta["format"] ?? null)}, expected ${CHECKPOINT_FORMAT})`);
  const tensors = new Map<string, TrainTensorData>();
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const t of expected) {
    const key = t.role === "optim" ? OPTIM_PREFIX + t.name : t.name;
    seen.add(key);
    const got = parsed.tensors.get(key);
    if (!got) problems.push(`missing ${t.role} '${key}'`);
    else if (!(got.data instanceof Float32Array) || got.shape.join(",") !== t.shape.join(","))
      problems.push(`'${key}' is ${got.dtype} [${got.shape.join(", ")}], expected F32 [${t.shape.join(", ")}]`);
    else tensors.set(t.name, { role: t.role, shape: [...t.shape], data: got.data });
  }
  for (const key of parsed.tensors.keys()) if (!seen.has(key)) problems.push(`unexpected tensor '${key}'`);
  if (problems.length > 0) throw new CheckpointError(`checkpoint does not fit this model: ${problems.slice(0, 6).join("; ")}${problems.length > 6 ? `; ... (${problems.length} problems)` : ""}`);
  const v: Record<string, unknown> = {};
  for (const k of STATE_KEYS) {
    const s = meta[k];
    if (s === undefined) throw new CheckpointError(`checkpoint metadata lacks '${k}'`);
    try {
      v[k] = parseJson(s);
    } catch {
      throw new CheckpointError(`checkpoint metadata '${k}' is not JSON`);
    }
  }
  const state: TrainState = {
    epoch: v["epoch"] as number,
    batch: v["batch"] as number,
    step: v["step"] as number,
    seed: v["seed"] as number,
    lr: v["lr"] as number,
    bestValLoss: v["best_val_loss"] as number,
    badEpochs: v["bad_epochs"] as number,
    stopped: v["stopped"] as boolean,
    partial: v["partial"] as TrainState["partial"],
    history: v["curves"] as History,
    config: v["config"] as string,
  };
  for (const k of ["epoch", "batch", "step", "seed", "badEpochs"] as const)
    if (!Number.isSafeInteger(state[k]) || state[k] < 0) throw new CheckpointError(`checkpoint metadata '${k}' is not a non-negative integer`);
  return { tensors, state };
}

/** Write `DIR/checkpoint.safetensors` atomically (temp file, fsync, rename): a crash leaves the previous one. */
export async function saveCheckpoint(path: string, tensors: ReadonlyMap<string, TrainTensorData>, state: TrainState): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(tensors, state));
}

/**
 * The `config` metadata (JSON text of driver.ts RunConfig) of a checkpoint file, without checking its tensors:
 * read before them so that a run with other settings is told so. Errors: CheckpointError.
 */
export async function readCheckpointConfig(path: string): Promise<string> {
  const bytes = await readCheckpointBytes(path);
  let meta: Record<string, string>;
  try {
    meta = parseSafetensors(bytes).metadata;
  } catch (e) {
    throw new CheckpointError(`${path}: ${(e as Error).message}`);
  }
  if (meta["format"] !== CHECKPOINT_FORMAT) throw new CheckpointError(`${path}: not a modelc checkpoint (format ${JSON.stringify(meta["format"] ?? null)}, expected ${CHECKPOINT_FORMAT})`);
  const s = meta["config"];
  if (s === undefined) throw new CheckpointError(`${path}: checkpoint metadata lacks 'config'`);
  try {
    return parseJson<string>(s);
  } catch {
    throw new CheckpointError(`${path}: checkpoint metadata 'config' is not JSON`);
  }
}

async function readCheckpointBytes(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(code === "ENOENT" ? `no checkpoint at '${path}' to resume from` : `cannot read '${path}': ${(e as Error).message}`);
  }
}

/** Read and decode a checkpoint file. Errors: CheckpointError (also for a missing/unreadable file). */
export async function loadCheckpoint(path: string, expected: readonly TrainTensor[]): Promise<{ tensors: Map<string, TrainTensorData>; state: TrainState }> {
  const bytes = await readCheckpointBytes(path);
  try {
    return decodeCheckpoint(bytes, expected);
  } catch (e) {
    if (e instanceof CheckpointError) throw new CheckpointError(`${path}: ${e.message}`);
    throw e;
  }
}
