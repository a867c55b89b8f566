// Learning-rate schedules, evaluated per step in JS (the training module takes lr as an input).
// Neighbours: train/spec.ts (TrainScheduleSpec), train/driver.ts calls learningRate before each step.

import type { TrainLossSpec, TrainScheduleSpec } from "./spec.js";

/** Where in training a step is. All counts are 0-based except `epochs`/`stepsPerEpoch` (totals). */
export interface SchedulePosition {
  /** Epoch of the step, 0-based. */
  epoch: number;
  /** Batch index within the epoch, 0-based. */
  batch: number;
  /** Batches per epoch (≥ 1). */
  stepsPerEpoch: number;
  /** Planned number of epochs (TrainSpec.epochs). */
  epochs: number;
}

/**
 * The learning rate of one step (a pure function of its arguments, so a resumed run gets the same lr):
 * - constant: `base`;
 * - step: `base · gamma^⌊epoch / step_size⌋` (torch.optim.lr_scheduler.StepLR stepped once per epoch);
 * - cosine: with s = epoch · stepsPerEpoch + batch, W = round(warmup_epochs · stepsPerEpoch) warm-up steps
 *   and T = epochs · stepsPerEpoch: for s < W the linear warm-up `base · (s + 1) / W` (reaches base at the
 *   last warm-up step, never 0); after it `min_lr + (base − min_lr) · (1 + cos(π · (s − W) / (T − W))) / 2`
 *   (CosineAnnealingLR's closed form with T_max = T − W, eta_min = min_lr, stepped per iteration; past T it
 *   stays at min_lr).
 */
export function learningRate(schedule: TrainScheduleSpec, base: number, at: SchedulePosition): number {
  switch (schedule.kind) {
    case "constant":
      return base;
    case "step":
      return base * schedule.gamma ** Math.floor(at.epoch / schedule.step_size);
    case "cosine": {
      const s = at.epoch * at.stepsPerEpoch + at.batch;
      const W = Math.round(schedule.warmup_epochs * at.stepsPerEpoch);
      if (s < W) return (base * (s + 1)) / W;
      const T = at.epochs * at.stepsPerEpoch;
      const progress = Math.min(1, (s - W) / Math.max(1, T - W));
      return schedule.min_lr + ((base - schedule.min_lr) * (1 + Math.cos(Math.PI * progress))) / 2;
    }
  }
}

/**
 * The weight of a loss in epoch `epoch` (0-based, as SchedulePosition.epoch): its constant `weight`, or
 * with e = epoch + 1 and E = schedule.epochs: warmup `value · min(e, E) / E`; ramp
 * `start + (end − start) · (min(e, E) − 1) / (E − 1)` (E = 1: end). See train/spec.ts LossWeightSchedule.
 */
export function lossWeight(loss: Pick<TrainLossSpec, "weight" | "weight_schedule">, epoch: number): number {
  const s = loss.weight_schedule;
  if (!s) return loss.weight;
  const e = Math.min(epoch + 1, s.epochs);
  if (s.kind === "warmup") return (s.value * e) / s.epochs;
  return s.epochs === 1 ? s.end : s.start + ((s.end - s.start) * (e - 1)) / (s.epochs - 1);
}
