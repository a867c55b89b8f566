// The training history (per-step and per-epoch records) kept by the driver, saved in checkpoints and drawn
// as learning curves. Neighbours: train/driver.ts appends, train/checkpoint.ts stores, train/curves.ts draws.

/** One optimizer step. */
export interface StepRecord {
  /** Global step, from 1. */
  step: number;
  /** Position in epochs: epoch index + (batch + 1) / steps per epoch (the end of epoch 1 is 1.0). */
  x: number;
  /** Total training loss of the batch per sample (Σ weight · loss, a "sum" loss ÷ batch), before the update. */
  loss: number;
  /** Learning rate used. */
  lr: number;
}

/** Losses and metrics of one pass over a data split. */
export interface SplitMetrics {
  /** Total loss Σ weight · loss, averaged over the split (see driver.ts `meanLosses`). */
  loss: number;
  /** Each loss by name. */
  losses: Record<string, number>;
  /** Metrics by name ("accuracy"), as fractions in [0, 1]. */
  metrics: Record<string, number>;
  /** Samples evaluated. */
  samples: number;
}

/** One finished epoch. */
export interface EpochRecord {
  /** Epoch number, from 1. */
  epoch: number;
  /** Global step at its end. */
  step: number;
  /** Learning rate of its last step. */
  lr: number;
  /** Training losses averaged over the epoch's batches (metrics are not computed on training data). */
  train: SplitMetrics;
  /** Validation after the epoch; absent when the validation split is empty. */
  validation?: SplitMetrics;
  /** Loss weights used in this epoch, by loss name (with weight schedules they change per epoch). */
  weights?: Record<string, number>;
}

/** The whole history. Only deterministic values: a resumed run's history equals an uninterrupted run's. */
export interface History {
  steps: StepRecord[];
  epochs: EpochRecord[];
}

/** An empty history. */
export function emptyHistory(): History {
  return { steps: [], epochs: [] };
}

/**
 * Exponential moving average with bias correction (TensorBoard's smoothing with debiasing, Adam's
 * correction): s_t = β s_{t−1} + (1 − β) x_t, reported as s_t / (1 − β^t). Default β = 0.9. Non-finite
 * values pass through without entering the average.
 */
export function smooth(values: readonly number[], beta = 0.9): number[] {
  let s = 0;
  let w = 0;
  return values.map((v) => {
    if (!Number.isFinite(v)) return v;
    s = beta * s + (1 - beta) * v;
    w = beta * w + (1 - beta);
    return s / w;
  });
}
