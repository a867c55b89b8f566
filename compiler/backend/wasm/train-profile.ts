// Per-node timing of a training step: calls the node functions of a module built with exportNodes one by one
// and times each with performance.now(). Neighbours: train.ts (WasmTrainBackend, exportNodes), bench tests.

import type { BatchFields, StepScalars } from "../../train/backend.js";
import type { WasmTrainBackend } from "./train.js";

/** Accumulated time of one train_step node (or the write-back, op "writeback"). */
export interface NodeTime {
  /** Node index in the train_step entry (-1 for the write-back). */
  index: number;
  op: string;
  /** Total milliseconds over all profiled steps. */
  ms: number;
}

/**
 * Run one train step node by node (same effect as trainStep) and add each node's wall time to `acc`
 * (created on first use, indexed like layout.entries.train_step.ops, the write-back last). Returns the losses.
 * Errors: the backend was not created with exportNodes.
 */
export function profileTrainStep(b: WasmTrainBackend, batch: number, fields: BatchFields, scalars: StepScalars, acc: NodeTime[]): Record<string, number> {
  const ops = b.layout.entries.train_step.ops;
  const fns = ops.map((_, i) => b.exports[`t${i}`] as ((batch: number) => void) | undefined);
  const wb = b.exports["t_writeback"] as ((batch: number) => void) | undefined;
  if (!wb || fns.some((f) => !f)) throw new Error("profileTrainStep: build the backend with exportNodes: true");
  if (acc.length === 0) acc.push(...ops.map((op, index) => ({ index, op, ms: 0 })), { index: -1, op: "writeback", ms: 0 });
  b.prepareTrainStep(batch, fields, scalars);
  fns.forEach((f, i) => {
    const t0 = performance.now();
    f!(batch);
    acc[i]!.ms += performance.now() - t0;
  });
  const t0 = performance.now();
  wb(batch);
  acc[ops.length]!.ms += performance.now() - t0;
  return b.trainLosses();
}

/** Group NodeTimes by op: [op, ms, share of the total] sorted by time, for reports. */
export function timesByOp(times: readonly NodeTime[]): [string, number, number][] {
  const byOp = new Map<string, number>();
  for (const t of times) byOp.set(t.op, (byOp.get(t.op) ?? 0) + t.ms);
  const total = [...byOp.values()].reduce((a, b) => a + b, 0);
  return [...byOp].map(([op, ms]): [string, number, number] => [op, ms, ms / total]).sort((a, b) => b[1] - a[1]);
}
