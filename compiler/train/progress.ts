// Progress display of a training run: a cli-progress bar (epoch, step, loss, samples/s, ETA) on a TTY, else one
// plain line per epoch. Neighbours: train/driver.ts emits TrainProgress events; cli/train.ts picks the display.

import cliProgress from "cli-progress";
import type { TrainProgress } from "./driver.js";
import type { SplitMetrics } from "./history.js";

/** Where lines go (cli/common.ts CliIo fits). */
export interface ProgressIo {
  out(line: string): void;
}

/** A progress display: feed it every event, call `stop()` when the run ends (also on errors). */
export interface ProgressReporter {
  onProgress(event: TrainProgress): void;
  stop(): void;
}

/**
 * "loss 0.1234  accuracy 93.10%": a split's loss and metrics (accuracy as a percentage). Named losses (several,
 * or one not called "loss") are also listed one by one, unweighted; the total is "weighted loss" when
 * `weights` (the epoch's loss weights) has a weight other than 1.
 */
export function formatMetrics(m: SplitMetrics, prefix = "", weights?: Record<string, number>): string {
  const names = Object.keys(m.losses);
  const weighted = weights !== undefined && Object.values(weights).some((w) => w !== 1);
  const parts = [`${prefix}${weighted ? "weighted loss" : "loss"} ${fmtLoss(m.loss)}`];
  if (names.length > 1 || (names.length === 1 && names[0] !== "loss")) for (const n of names) parts.push(`${prefix}${n} ${fmtLoss(m.losses[n]!)}`);
  for (const [n, v] of Object.entries(m.metrics)) parts.push(`${prefix}${n} ${(100 * v).toFixed(2)}%`);
  return parts.join("  ");
}

function fmtLoss(v: number): string {
  return Number.isFinite(v) && Math.abs(v) < 1e4 ? v.toFixed(4) : String(v);
}

/** The one-line summary of a finished epoch (the plain display prints exactly this). */
export function epochLine(e: Extract<TrainProgress, { kind: "epoch" }>): string {
  const r = e.record;
  const parts = [`epoch ${r.epoch}/${e.epochs}`, formatMetrics(r.train, "train ", r.weights)];
  if (r.validation) parts.push(formatMetrics(r.validation, "val ", r.weights));
  if (r.weights) parts.push(`weights ${Object.entries(r.weights).map(([n, w]) => `${n} ${+w.toFixed(4)}`).join(" ")}`);
  parts.push(`lr ${r.lr.toExponential(2)}`, `${Math.round(e.samplesPerSecond)} samples/s`, `${e.seconds.toFixed(1)} s`);
  if (e.stopped) parts.push("(early stopping)");
  return parts.join("  ");
}

/** "interrupted in epoch 3 after 7 of its steps (step 27)" or "interrupted after epoch 2 (step 20)". */
export function interruptLine(e: Extract<TrainProgress, { kind: "interrupted" }>): string {
  const where = e.batch === 0 ? `after epoch ${e.epoch}` : `in epoch ${e.epoch + 1} after ${e.batch} of its steps`;
  return `interrupted ${where} (step ${e.step}); checkpoint ${e.checkpoint}`;
}

/** Plain display: a start line, one line per epoch, the interrupt line. Deterministic apart from times. */
export function lineReporter(io: ProgressIo): ProgressReporter {
  return {
    onProgress(e) {
      if (e.kind === "start")
        io.out(`training on ${e.samples.train} samples (validation ${e.samples.validation}, test ${e.samples.test}), ${e.stepsPerEpoch} steps per epoch` +
          (e.fromEpoch > 0 || e.fromBatch > 0 ? `, resuming at epoch ${e.fromEpoch + 1} step ${e.fromBatch + 1}` : ""));
      else if (e.kind === "epoch") io.out(epochLine(e));
      else if (e.kind === "interrupted") io.out(interruptLine(e));
    },
    stop() {},
  };
}

/**
 * TTY display: one cli-progress bar over all steps of the run (epoch, step within the epoch, loss, samples/s,
 * ETA), with each finished epoch's line logged above it. Writes to `stream` (default process.stdout).
 */
export function barReporter(stream: NodeJS.WriteStream = process.stdout): ProgressReporter {
  const multi = new cliProgress.MultiBar(
    {
      stream,
      format: "epoch {epoch}/{epochs} [{bar}] {step}/{steps} | loss {loss} | {sps} samples/s | ETA {eta_formatted}",
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  let bar: cliProgress.SingleBar | undefined;
  let epochs = 0;
  let steps = 0;
  return {
    onProgress(e) {
      if (e.kind === "start") {
        epochs = e.epochs;
        steps = e.stepsPerEpoch;
        bar = multi.create(e.epochs * e.stepsPerEpoch, e.fromEpoch * e.stepsPerEpoch + e.fromBatch, { epoch: e.fromEpoch + 1, epochs, step: e.fromBatch, steps, loss: "-", sps: "-" });
      } else if (e.kind === "step")
        bar?.update(e.epoch * e.stepsPerEpoch + e.batch + 1, { epoch: e.epoch + 1, step: e.batch + 1, loss: fmtLoss(e.loss), sps: Math.round(e.samplesPerSecond) });
      else if (e.kind === "epoch") multi.log(epochLine(e) + "\n");
      else if (e.kind === "interrupted") multi.log(interruptLine(e) + "\n");
    },
    stop() {
      multi.stop();
    },
  };
}
