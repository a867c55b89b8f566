// Worker entry of modelc/runtime/threads: instantiates the module the calling thread compiled, then waits (Atomics.wait)
// for jobs on its control words and runs its slice of each batch with Model.run, reading inputs from and writing
// outputs to the shared data buffer. Runs as a Node worker_threads Worker or a browser module Worker.
// Neighbours: runtime/threads.ts starts it; runtime/threads-shared.ts (protocol).

import { instantiateModel } from "./load.js";
import type { Model, RunInputs, RunOutputs } from "./model.js";
import { isNode } from "./source.js";
import {
  CMD_CLOSE, CTL, dataLayout, sliceView,
  type BufferMessage, type InitMessage, type WorkerReply,
} from "./threads-shared.js";

type Port = { post(m: WorkerReply): void; listen(f: (m: InitMessage | BufferMessage) => void): void; close(): void };

async function parentPort(): Promise<Port> {
  if (isNode()) {
    const spec = "node:worker_threads";
    const wt = (await import(/* @vite-ignore */ spec)) as {
      parentPort: { postMessage(m: unknown): void; on(e: "message", f: (m: never) => void): void; close(): void } | null;
    };
    const p = wt.parentPort;
    if (!p) throw new Error("modelc threads-worker: not running in a worker thread");
    return { post: (m) => p.postMessage(m), listen: (f) => p.on("message", f), close: () => p.close() };
  }
  const g = globalThis as unknown as {
    postMessage(m: unknown): void;
    addEventListener(e: "message", f: (ev: { data: never }) => void): void;
    close(): void;
  };
  return { post: (m) => g.postMessage(m), listen: (f) => g.addEventListener("message", (ev) => f(ev.data)), close: () => g.close() };
}

const port = await parentPort();
let model: Model | undefined;
let ctl: Int32Array | undefined;
let doneMessages = false;
let data: SharedArrayBuffer | undefined;
let gen = -1;
let last = 0;

port.listen((m) => {
  if (m.type === "init") void init(m);
  else if (m.type === "buffer") {
    data = m.data;
    gen = m.gen;
    serve();
  }
});
port.post({ type: "hello" }); // the calling thread sends `init` only now, so no message can beat the listener

async function init(m: InitMessage): Promise<void> {
  try {
    model = await instantiateModel(m.module, m.manifest, m.variant, m.weights);
  } catch (e) {
    const err = e as { code?: unknown; message?: unknown };
    port.post({ type: "load-error", code: typeof err.code === "string" ? err.code : "instantiate", message: String(err.message ?? e) });
    return;
  }
  ctl = new Int32Array(m.ctl);
  doneMessages = m.doneMessages;
  port.post({ type: "ready" });
  serve();
}

/**
 * The job loop: block until the seq word moves, run the job, publish `done`. Returns to the event loop (to
 * receive a `buffer` message, which the calling thread posts before such a job) when the job needs a data
 * buffer generation this worker has not seen, and for good on CMD_CLOSE.
 */
function serve(): void {
  const c = ctl!;
  for (;;) {
    Atomics.wait(c, CTL.seq, last);
    const seq = Atomics.load(c, CTL.seq);
    if (c[CTL.cmd] === CMD_CLOSE) {
      port.close();
      return;
    }
    if (c[CTL.gen] !== gen) return; // the buffer message is queued: its handler calls serve() again
    last = seq;
    let status = 0;
    try {
      runSlice(c);
    } catch (e) {
      status = 1;
      const err = e as { code?: unknown; message?: unknown };
      port.post({ type: "job-error", seq, code: typeof err.code === "string" ? err.code : "trap", message: String(err.message ?? e) });
    }
    c[CTL.status] = status;
    Atomics.store(c, CTL.done, seq);
    Atomics.notify(c, CTL.done);
    if (doneMessages) port.post({ type: "done", seq });
  }
}

/** Run samples [start, start + count) of the batch in the data buffer, writing the outputs straight back there. */
function runSlice(c: Int32Array): void {
  const m = model!;
  const batch = c[CTL.batch]!, start = c[CTL.start]!, count = c[CTL.count]!;
  const { offsets } = dataLayout([...m.inputs, ...m.outputs], batch);
  const inputs: RunInputs = {};
  const outputs: RunOutputs = {};
  m.inputs.forEach((s, i) => (inputs[s.name] = sliceView(data!, s, offsets[i]!, start, count)));
  m.outputs.forEach((s, i) => (outputs[s.name] = sliceView(data!, s, offsets[m.inputs.length + i]!, start, count)));
  // the calling thread checked the whole batch (ids in range, NaN) before handing out slices: no second check here
  m.runChecked(inputs, count, false, outputs);
}
