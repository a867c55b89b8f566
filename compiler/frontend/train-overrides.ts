// CLI overrides of a checked TrainSpec (`modelc train --epochs 3 --lr 0.01 --optimizer sgd ...`).
// Neighbours: lower-train.ts (builds the spec), cli/train.ts (parses the flags).

import { didYouMean } from "./scope.js";
import type { TrainSpec } from "../train/spec.js";
import { OPTIMIZERS } from "./train-functions.js";

/** CLI overrides of a TrainSpec (`modelc train --epochs 3 --lr 0.01 ...`); absent fields keep the spec's. */
export interface TrainOverrides {
  epochs?: number;
  batch_size?: number;
  lr?: number;
  seed?: number;
  /** Optimizer kind; switching kind keeps lr and takes the new kind's defaults for the rest. */
  optimizer?: string;
  /** Active losses (replaces the section's `heads`). */
  heads?: string[];
  /** Frozen layers (replaces the section's `freeze` and drops its `trainable`). */
  freeze?: string[];
  /** Only these layers train (replaces `trainable` and drops `freeze`). */
  trainable?: string[];
}

/**
 * A copy of `spec` with `overrides` applied. Throws Error (message names the option and the rule) for
 * epochs or batch_size not an integer >= 1, lr not a finite number > 0, seed not an integer in
 * [0, 2^32 - 1], or an unknown optimizer (with the nearest names). `optimizer` set to the spec's own
 * kind changes nothing; another kind starts from its defaults (sgd/momentum: weight_decay 0, momentum
 * 0.9; adam: betas [0.9, 0.999], eps 1e-8, weight_decay 0; adamw: weight_decay 0.01) with the current lr.
 * `heads` must name losses of the spec (Error otherwise); `freeze` / `trainable` replace the section's
 * selection (checked against the model by train/build.ts); giving both is an Error.
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
  if (overrides.freeze !== undefined && overrides.trainable !== undefined) throw new Error("--freeze and --trainable exclude each other; give one of them");
  if (overrides.heads !== undefined) {
    const names = out.losses.map((l) => l.name);
    for (const h of overrides.heads) {
      if (names.includes(h)) continue;
      const near = didYouMean(h, names);
      throw new Error(`--heads: no loss named '${h}'${near ? `; ${near}` : ""} (losses: ${names.join(", ")})`);
    }
    out.heads = [...overrides.heads];
  }
  if (overrides.freeze !== undefined) {
    out.freeze = [...overrides.freeze];
    delete out.trainable;
  }
  if (overrides.trainable !== undefined) {
    out.trainable = [...overrides.trainable];
    delete out.freeze;
  }
  if (overrides.lr !== undefined) {
    if (!Number.isFinite(overrides.lr) || overrides.lr <= 0) throw new Error(`--lr must be a number > 0, got ${overrides.lr}`);
    out.optimizer.lr = overrides.lr;
  }
  return out;
}
