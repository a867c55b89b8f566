// What runtime/threads.ts (the calling thread) and runtime/threads-worker.ts (each worker) agree on: the control
// words of a worker's Int32Array, the messages, and where each input/output of a batch lives in the shared data
// buffer. Neighbours: threads.ts, threads-worker.ts; runtime/manifest.ts (IoSpec).

import type { IoSpec, Manifest } from "./manifest.js";
import type { ModuleVariant } from "./sections.js";

/** Indexes into a worker's control Int32Array (over a SharedArrayBuffer of CTL_WORDS * 4 bytes). */
export const CTL = {
  /** Job sequence number, incremented by the calling thread per job; the worker waits on it. */
  seq: 0,
  /** The seq of the last job the worker finished; the calling thread waits on it. */
  done: 1,
  /** 0 when the last job succeeded, 1 when it threw (a `job-error` message follows). */
  status: 2,
  /** Generation of the data buffer the job uses (a `buffer` message carried it). */
  gen: 3,
  /** Samples in the whole batch (fixes the data layout). */
  batch: 4,
  /** First sample of this worker's slice. */
  start: 5,
  /** Samples in this worker's slice. */
  count: 6,
  /** CMD_RUN or CMD_CLOSE. */
  cmd: 7,
} as const;
/** Words in a control array. */
export const CTL_WORDS = 8;
/** Job command: run the slice described by batch/start/count. */
export const CMD_RUN = 1;
/** Job command: leave the wait loop and close. */
export const CMD_CLOSE = 2;

/**
 * Calling thread -> worker, once (after the worker's `hello`): the model the calling thread loaded and the control
 * buffer. The worker instantiates `module` (runtime/load.ts instantiateModel): no file is read or compiled again.
 */
export interface InitMessage {
  type: "init";
  /** The calling thread's compiled module (structured clone shares the compiled code; Node and browsers). */
  module: WebAssembly.Module;
  manifest: Manifest;
  /** The build `module` is, as the calling thread's Model.variant. */
  variant: ModuleVariant;
  /** The checked weights file (a copy) when the manifest says `weights.embedded: false`. */
  weights?: Uint8Array;
  /** The worker's control words (SharedArrayBuffer of CTL_WORDS * 4 bytes). */
  ctl: SharedArrayBuffer;
  /** Also post a `done` message after each job (hosts without Atomics.waitAsync). */
  doneMessages: boolean;
}
/** Calling thread -> worker: a new data buffer, posted before the first job that uses generation `gen`. */
export interface BufferMessage {
  type: "buffer";
  gen: number;
  data: SharedArrayBuffer;
}
/** Worker -> calling thread. */
export type WorkerReply =
  | { type: "hello" }
  | { type: "ready" }
  | { type: "load-error"; code: string; message: string }
  | { type: "job-error"; seq: number; code: string; message: string }
  | { type: "done"; seq: number };

/**
 * Byte offset of every input and then every output of a `batch`-sample call in the shared data buffer, and
 * the buffer's total size. Each value is batch-major (sample 0 first), 4 bytes per element (f32/i32), so
 * sample i of value v starts at offsets[v] + 4 * elementsPerSample * i.
 */
export function dataLayout(values: IoSpec[], batch: number): { offsets: number[]; bytes: number } {
  const offsets: number[] = [];
  let at = 0;
  for (const s of values) {
    offsets.push(at);
    at += Math.ceil((4 * s.elementsPerSample * batch) / 16) * 16;
  }
  return { offsets, bytes: Math.max(at, 16) };
}

/** Samples [start, start + count) of value `s` (at byte offset `off` of `buf`) as a typed-array view. */
export function sliceView(buf: SharedArrayBuffer, s: IoSpec, off: number, start: number, count: number): Float32Array | Int32Array {
  const at = off + 4 * s.elementsPerSample * start;
  const n = s.elementsPerSample * count;
  return s.dtype === "f32" ? new Float32Array(buf, at, n) : new Int32Array(buf, at, n);
}
