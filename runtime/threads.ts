// modelc/runtime/threads: opt-in data parallelism over the batch. Each worker (Node worker_threads, or a browser
// module Worker under cross-origin isolation) loads the same artifact with loadModel and runs a contiguous slice
// of every batch; inputs and outputs travel through a SharedArrayBuffer, jobs and completions through Atomics.
// A sample's outputs do not depend on which thread runs it, so results equal Model.run's bit for bit.
// Neighbours: threads-worker.ts (worker entry), threads-shared.ts (protocol), load.ts, model.ts.

import { ModelcRuntimeError } from "./errors.js";
import { LOAD_KEYS, loadModelParts, type LoadOptions } from "./load.js";
import type { IoSpec, Manifest } from "./manifest.js";
import { checkOptions, type Model, type RunInputs, type RunOptions, type RunOutputs } from "./model.js";
import {
  CMD_CLOSE, CMD_RUN, CTL, CTL_WORDS, dataLayout, sliceView,
  type BufferMessage, type InitMessage, type WorkerReply,
} from "./threads-shared.js";

/** Options of loadModelThreaded: loadModel's, plus how many threads and where the worker script is. */
export interface ThreadOptions extends LoadOptions {
  /**
   * Threads that compute (integer 1..256), the calling thread included unless `callerRuns` is false.
   * Default: the host's logical cores (Node `os.availableParallelism()`, browsers `navigator.hardwareConcurrency`).
   * 1 starts no worker. Each worker holds its own instance, with its own copy of the weights.
   */
  threads?: number;
  /**
   * True (default): the calling thread runs the first slice of each batch itself and `threads - 1` workers
   * run the rest. False: it only hands out slices to `threads` workers and collects the outputs (keeps a
   * browser's main thread free, at the cost of one more instance).
   */
  callerRuns?: boolean;
  /**
   * The worker script, when a bundler moves it: the built `threads-worker.js` of this package. Default:
   * `./threads-worker.js` next to this module (`new URL(..., import.meta.url)`).
   */
  workerUrl?: URL | string;
  /** Milliseconds a worker may take to start and load the model before loading fails (default 60000). */
  startTimeoutMs?: number;
}

/** The keys of ThreadOptions, loadModel's included (the `satisfies` keeps the list complete). */
const THREAD_KEYS = [...LOAD_KEYS, ...Object.keys({ threads: 1, callerRuns: 1, workerUrl: 1, startTimeoutMs: 1 } satisfies Record<Exclude<keyof ThreadOptions, keyof LoadOptions>, 1>)];

/** Whether this host can run workers on shared memory, and why not (threadSupport). */
export interface ThreadSupport {
  /** True when workers with SharedArrayBuffer and Atomics are available. */
  ok: boolean;
  /** "node" (worker_threads) or "web" (module Worker). */
  host: "node" | "web";
  /** Why threads are unavailable (when !ok), for the one-time warning. */
  why?: string;
}

/**
 * Decide from a host's globals whether threads can run. Node: needs SharedArrayBuffer and Atomics. Browsers
 * and other hosts: need Worker, `crossOriginIsolated === true` (the page is served with
 * `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`) and
 * SharedArrayBuffer. `g` defaults to globalThis (tests pass fakes).
 */
export function threadSupport(g: object = globalThis): ThreadSupport {
  const h = g as {
    process?: { versions?: { node?: unknown } };
    SharedArrayBuffer?: unknown;
    Atomics?: unknown;
    Worker?: unknown;
    crossOriginIsolated?: unknown;
  };
  const shared = typeof h.SharedArrayBuffer === "function" && typeof h.Atomics === "object";
  if (typeof h.process?.versions?.node === "string")
    return shared ? { ok: true, host: "node" } : { ok: false, host: "node", why: "this Node lacks SharedArrayBuffer/Atomics" };
  if (typeof h.Worker !== "function") return { ok: false, host: "web", why: "this host has no Worker" };
  if (h.crossOriginIsolated !== true || !shared)
    return {
      ok: false,
      host: "web",
      why: "SharedArrayBuffer needs cross-origin isolation (serve the page with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)",
    };
  return { ok: true, host: "web" };
}

let warned = false;
/** console.warn once per process/page that threads were asked for but one thread runs. */
function warnOnce(why: string): void {
  if (warned) return;
  warned = true;
  console.warn(`modelc: threads unavailable, running on one thread: ${why}`);
}

/** Minimal cross-host Worker. */
interface Thread {
  post(m: InitMessage | BufferMessage): void;
  terminate(): Promise<unknown> | void;
  /** Node: let the process exit while idle (unref) or not (ref). */
  keepAlive(on: boolean): void;
}

/** One worker and its control words. */
class Lane {
  readonly ctl = new Int32Array(new SharedArrayBuffer(CTL_WORDS * 4));
  /** Data buffer generation this worker was sent. */
  gen = -1;
  seq = 0;
  /** Set when the worker died (or the model was closed); every wait rejects with it. */
  dead: ModelcRuntimeError | undefined;
  thread!: Thread;
  private readonly deathWaiters = new Set<(e: ModelcRuntimeError) => void>();
  private readonly doneWaiters = new Set<() => void>();
  private readonly jobErrors = new Map<number, { code: string; message: string }>();

  constructor(readonly index: number) {}

  /** Record a death (first reason wins) and wake everything waiting on this lane. */
  kill(e: ModelcRuntimeError): void {
    if (this.dead) return;
    this.dead = e;
    for (const f of this.deathWaiters) f(e);
    this.deathWaiters.clear();
  }

  /** Resolves with `p`, or rejects as soon as the lane dies. */
  guard<T>(p: Promise<T>): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise<T>((resolve, reject) => {
      const onDeath = (e: ModelcRuntimeError): void => reject(e);
      this.deathWaiters.add(onDeath);
      p.then(
        (v) => (this.deathWaiters.delete(onDeath), resolve(v)),
        (e: unknown) => (this.deathWaiters.delete(onDeath), reject(e)),
      );
    });
  }

  /** A message from the worker after start-up. */
  onReply(m: WorkerReply): void {
    if (m.type === "job-error") this.jobErrors.set(m.seq, { code: m.code, message: m.message });
    if (m.type === "job-error" || m.type === "done") {
      for (const f of this.doneWaiters) f();
      this.doneWaiters.clear();
    }
  }

  /** Hand the worker samples [start, start + count) of a `batch`-sample call in data buffer generation `gen`. */
  dispatch(batch: number, start: number, count: number, gen: number): number {
    const c = this.ctl;
    c[CTL.batch] = batch;
    c[CTL.start] = start;
    c[CTL.count] = count;
    c[CTL.gen] = gen;
    c[CTL.cmd] = CMD_RUN;
    const seq = (this.seq = (this.seq + 1) | 0 || 1);
    Atomics.store(c, CTL.seq, seq);
    Atomics.notify(c, CTL.seq);
    return seq;
  }

  /**
   * Wait (without blocking the event loop) until job `seq` is done. Rejects when the worker dies, and with the
   * worker's error when the job threw. Waits in 1 s slices so a pending wait never outlives its reason.
   */
  async waitDone(seq: number, byMessage: boolean): Promise<void> {
    const c = this.ctl;
    for (;;) {
      if (this.dead) throw this.dead;
      const d = Atomics.load(c, CTL.done);
      if (d === seq) break;
      if (!byMessage) {
        const r = (Atomics as unknown as AtomicsWaitAsync).waitAsync(c, CTL.done, d, 1000);
        if (r.async) await this.guard(r.value);
      } else await this.guard(new Promise<void>((resolve) => {
        this.doneWaiters.add(resolve);
        if (Atomics.load(c, CTL.done) !== d) resolve();
      }));
    }
    if (c[CTL.status] === 0) return;
    // the job threw: its job-error message was posted before `done` was stored; wait for it to arrive
    while (!this.jobErrors.has(seq)) await this.guard(new Promise<void>((resolve) => this.doneWaiters.add(resolve)));
    const e = this.jobErrors.get(seq)!;
    this.jobErrors.delete(seq);
    throw new ModelcRuntimeError(e.code as ModelcRuntimeError["code"], e.message);
  }

  /** Ask the worker to leave its wait loop, then terminate it. */
  async stop(reason: ModelcRuntimeError): Promise<void> {
    const c = this.ctl;
    c[CTL.cmd] = CMD_CLOSE;
    Atomics.store(c, CTL.seq, (this.seq = (this.seq + 1) | 0 || 1));
    Atomics.notify(c, CTL.seq);
    this.kill(reason);
    await this.thread?.terminate();
  }
}

type AtomicsWaitAsync = {
  waitAsync(a: Int32Array, i: number, v: number, timeoutMs: number): { async: false; value: string } | { async: true; value: Promise<string> };
};

/**
 * A model whose batches are split across worker threads. Created by loadModelThreaded. `run` takes and returns
 * what Model.run does, asynchronously; outputs are identical to Model.run's (bit for bit). Calls are queued:
 * one batch runs at a time. Call `close()` when done to end the workers.
 */
export class ThreadedModel {
  /** Model name from the manifest. */
  readonly name: string;
  /** Input specs (as Model.inputs). */
  readonly inputs: IoSpec[];
  /** Output specs (as Model.outputs). */
  readonly outputs: IoSpec[];
  /** The artifact manifest. */
  readonly manifest: Manifest;
  /** True when a SIMD build (plain or relaxed) runs (the same build in every thread). */
  readonly simd: boolean;
  /** The build that runs in every thread: "relaxed" | "simd" | "scalar" (as Model.variant). */
  readonly variant: Model["variant"];
  /**
   * Threads that compute a batch of at least that many samples: 1 when threads were unavailable (after a
   * warning) or not asked for; smaller batches use one thread per sample.
   */
  readonly threads: number;
  /** The calling thread's own Model: checks inputs, and runs the first slice when `callerRuns`. */
  readonly model: Model;
  private readonly lanes: Lane[];
  private readonly callerRuns: boolean;
  private readonly byMessage: boolean;
  private data: SharedArrayBuffer | undefined;
  private gen = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private failed: ModelcRuntimeError | undefined;

  /** Internal: use loadModelThreaded. */
  constructor(model: Model, lanes: Lane[], callerRuns: boolean, byMessage: boolean) {
    this.model = model;
    this.name = model.name;
    this.inputs = model.inputs;
    this.outputs = model.outputs;
    this.manifest = model.manifest;
    this.simd = model.simd;
    this.variant = model.variant;
    this.lanes = lanes;
    this.callerRuns = callerRuns || lanes.length === 0;
    this.byMessage = byMessage;
    this.threads = lanes.length + (this.callerRuns ? 1 : 0);
    for (const l of lanes) l.thread.keepAlive(false);
  }

  /**
   * Run the model on a batch (inputs batch-major, as Model.run). Each thread runs a contiguous slice; a batch
   * smaller than `threads` uses `batch` threads. Resolves with output arrays equal to Model.run's: fresh ones, or
   * the caller's own arrays given in `options.outputs` (as Model.run; the calling thread's slice is written there
   * directly, the workers' slices are copied in once all finished).
   * Rejects (ModelcRuntimeError) with Model.run's argument errors (`bad-inputs`, `bad-option`, `unknown-input`, `missing-input`,
   * `bad-dtype`, `bad-length`, `bad-batch`, `bad-value` including NaN unless `options.nan` is "allow") before any
   * thread starts (the calling thread checks the whole batch once; slices are not checked again), with `trap`/`memory` from a
   * slice, `worker` when a worker died (the model is then unusable: close it and load again) and `closed`
   * after close().
   */
  run(inputs: RunInputs, options: RunOptions = {}): Promise<RunOutputs> {
    const p = this.queue.then(() => this.runNow(inputs, options));
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async runNow(inputs: RunInputs, options: RunOptions): Promise<RunOutputs> {
    if (this.closed) throw new ModelcRuntimeError("closed", `run(): model '${this.name}' was closed`);
    if (this.failed) throw this.failed;
    const m = this.model;
    // every argument is checked once, here, for the whole batch; slices are not checked again
    const [batch, nan] = m.checkArgs(inputs, options);
    const parts = Math.min(batch, this.threads);
    const into = options.outputs ?? {};
    // one slice: Model.run's copy-in, NaN scan (in module memory, as it runs) and run, without a second copy
    if (parts === 1 && this.callerRuns) return m.runChecked(inputs, batch, nan, into);
    if (nan) m.scanNaN(inputs, batch); // once, for the whole batch, before any slice runs: the slices skip it

    // slice sizes differ by at most one; slice 0 is the calling thread's when it runs one
    const sizes = Array.from({ length: parts }, (_, i) => Math.floor(batch / parts) + (i < batch % parts ? 1 : 0));
    const mine = this.callerRuns ? sizes.shift()! : 0;
    const values = [...m.inputs, ...m.outputs];
    const { offsets, bytes } = dataLayout(values, batch);
    if (!this.data || this.data.byteLength < bytes) {
      this.data = new SharedArrayBuffer(bytes + (bytes >> 2));
      this.gen++;
    }
    const data = this.data;
    m.inputs.forEach((s, i) => {
      const e = s.elementsPerSample;
      sliceView(data, s, offsets[i]!, mine, batch - mine).set(part(inputs[s.name]!, mine * e, batch * e));
    });

    // the outputs (the caller's arrays or fresh ones): the calling thread's slice is written straight into them
    const out: RunOutputs = {};
    for (const s of m.outputs) out[s.name] = into[s.name] ?? (s.dtype === "f32" ? new Float32Array(batch * s.elementsPerSample) : new Int32Array(batch * s.elementsPerSample));
    const jobs: Promise<void>[] = [];
    let start = mine;
    for (let w = 0; w < sizes.length; w++) {
      const l = this.lanes[w]!;
      if (l.gen !== this.gen) {
        l.thread.post({ type: "buffer", gen: this.gen, data });
        l.gen = this.gen;
      }
      l.thread.keepAlive(true);
      jobs.push(l.waitDone(l.dispatch(batch, start, sizes[w]!, this.gen), this.byMessage));
      start += sizes[w]!;
    }
    let ownError: unknown;
    if (mine > 0) {
      try {
        const slice: RunInputs = {};
        const sliceOut: RunOutputs = {};
        for (const s of m.inputs) slice[s.name] = part(inputs[s.name]!, 0, mine * s.elementsPerSample);
        for (const s of m.outputs) sliceOut[s.name] = out[s.name]!.subarray(0, mine * s.elementsPerSample);
        m.runChecked(slice, mine, false, sliceOut);
      } catch (e) {
        ownError = e;
      }
    }
    const settled = await Promise.allSettled(jobs); // every slice ends before the buffer is reused
    for (const l of this.lanes) l.thread.keepAlive(false);
    const died = this.lanes.find((l) => l.dead)?.dead;
    if (died && !this.closed) this.failed = new ModelcRuntimeError("worker", `${died.message}; close() this model and load it again`);
    if (ownError !== undefined) throw ownError;
    const bad = settled.find((r) => r.status === "rejected");
    if (bad) throw (bad as PromiseRejectedResult).reason;

    m.outputs.forEach((s, i) => out[s.name]!.set(sliceView(data, s, offsets[m.inputs.length + i]!, mine, batch - mine), mine * s.elementsPerSample));
    return out;
  }

  /**
   * End the workers. Runs still waiting reject with `closed`; later runs too. Idempotent; resolves when every
   * worker has been terminated.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const why = new ModelcRuntimeError("closed", `model '${this.name}' was closed while running`);
    await Promise.all(this.lanes.map((l) => l.stop(why)));
  }
}

/** Elements [a, b) of an input without copying typed arrays. */
function part(v: Float32Array | Int32Array | number[], a: number, b: number): Float32Array | Int32Array | number[] {
  return Array.isArray(v) ? v.slice(a, b) : v.subarray(a, b);
}

/**
 * Load a compiled model for multi-threaded batches. `source` and the loadModel options are as loadModel's;
 * the calling thread loads the model first (its errors are loadModel's), then each worker instantiates the
 * calling thread's compiled WebAssembly.Module (posted to it: no file is read or compiled again; a separate
 * weights file is copied), so every thread runs the same build. Costs: each thread holds its own instance
 * (weights, activations; the compiled code is shared), so memory grows by about (weights + activations) per
 * worker, plus start-up time of the workers.
 *
 * Where threads are unavailable (threadSupport: a browser page without cross-origin isolation, a host without
 * Worker) the model runs on one thread and console.warn says why, once.
 * Errors (ModelcRuntimeError): loadModel's; `bad-option` for an unknown key (the message lists loadModel's and these
 * keys and suggests the closest), options that are not a plain object, a `threads` that is not an integer in 1..256,
 * a non-boolean `callerRuns` or a bad `startTimeoutMs`; `worker` when a worker fails to start (the message
 * names the worker and why: script not found, loading failed, no answer within startTimeoutMs).
 */
export function loadModelThreaded(source: Uint8Array | ArrayBuffer | URL | string, options: ThreadOptions = {}): Promise<ThreadedModel> {
  return loadModelThreadedOn(threadSupport(), source, options);
}

/**
 * loadModelThreaded on a given host decision instead of this host's (tests drive the browser path under Node
 * with it: `{ ok: true, host: "web" }` and a Worker global). Not part of the public API.
 * @internal
 */
export async function loadModelThreadedOn(support: ThreadSupport, source: Uint8Array | ArrayBuffer | URL | string, options: ThreadOptions = {}): Promise<ThreadedModel> {
  checkOptions("loadModelThreaded(source, options)", options, THREAD_KEYS, "{ threads: 4 }");
  const { threads: asked, callerRuns = true, workerUrl, startTimeoutMs = 60000, ...load } = options;
  if (asked !== undefined && (typeof asked !== "number" || !Number.isInteger(asked) || asked < 1 || asked > 256))
    throw new ModelcRuntimeError("bad-option", `options.threads must be an integer from 1 to 256, got ${JSON.stringify(asked) ?? String(asked)}`);
  if (typeof callerRuns !== "boolean")
    throw new ModelcRuntimeError("bad-option", `options.callerRuns must be true or false, got ${JSON.stringify(callerRuns)}`);
  if (typeof startTimeoutMs !== "number" || !(startTimeoutMs > 0))
    throw new ModelcRuntimeError("bad-option", `options.startTimeoutMs must be a positive number of milliseconds, got ${JSON.stringify(startTimeoutMs)}`);
  const { model, module, weights } = await loadModelParts(source, load);
  let n = asked ?? (await cores(support.host));
  if (n > 1 && !support.ok) {
    warnOnce(support.why!);
    n = 1;
  }
  const workers = callerRuns ? n - 1 : n;
  if (n === 1 && callerRuns) return new ThreadedModel(model, [], true, false);

  const url = workerUrl ?? new URL("./threads-worker.js", import.meta.url);
  // workers instantiate the calling thread's compiled module: no second read, compile or weights check per worker
  const init = { module, manifest: model.manifest, variant: model.variant, ...(weights ? { weights } : {}) };
  const byMessage = typeof (Atomics as unknown as Partial<AtomicsWaitAsync>).waitAsync !== "function";
  const lanes = Array.from({ length: workers }, (_, i) => new Lane(i + 1));
  const started = await Promise.allSettled(lanes.map((l) => start(l, support.host, url, init, byMessage, startTimeoutMs)));
  const failed = started.find((r) => r.status === "rejected");
  if (failed) {
    const why = new ModelcRuntimeError("closed", "loading failed");
    await Promise.all(lanes.map((l) => l.stop(why).catch(() => undefined)));
    throw (failed as PromiseRejectedResult).reason;
  }
  return new ThreadedModel(model, lanes, callerRuns, byMessage);
}

/** Logical cores of this host (at least 1). */
async function cores(host: "node" | "web"): Promise<number> {
  if (host === "node") {
    const spec = "node:os";
    const os = (await import(/* @vite-ignore */ spec)) as { availableParallelism?: () => number; cpus(): unknown[] };
    return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  }
  const hc = (globalThis as { navigator?: { hardwareConcurrency?: unknown } }).navigator?.hardwareConcurrency;
  return typeof hc === "number" && hc >= 1 ? Math.floor(hc) : 1;
}

/**
 * Start lane `l`'s worker and wait until it loaded the model. Rejects with `worker` naming the worker and
 * why it did not start.
 */
async function start(
  l: Lane, host: "node" | "web", url: URL | string, init: Pick<InitMessage, "module" | "manifest" | "variant" | "weights">, doneMessages: boolean, timeoutMs: number,
): Promise<void> {
  const fail = (why: string) => new ModelcRuntimeError("worker", `worker ${l.index} failed to start: ${why}`);
  let settle!: { resolve: () => void; reject: (e: ModelcRuntimeError) => void };
  const ready = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  let up = false;
  const onMessage = (m: WorkerReply): void => {
    if (m.type === "hello") l.thread.post({ type: "init", ...init, ctl: l.ctl.buffer as SharedArrayBuffer, doneMessages });
    else if (m.type === "ready") (up = true), settle.resolve();
    else if (m.type === "load-error") settle.reject(fail(`loading the model failed: ${m.message}`));
    else l.onReply(m);
  };
  const onDeath = (why: string): void => {
    if (!up) settle.reject(fail(why));
    l.kill(new ModelcRuntimeError("worker", `worker ${l.index} died: ${why}`));
  };
  try {
    l.thread = host === "node" ? await nodeThread(url, onMessage, onDeath) : webThread(url, onMessage, onDeath);
  } catch (e) {
    throw fail((e as Error).message);
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(fail(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([ready, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A Node worker_threads Worker (imported on demand, so browsers never see node:worker_threads). */
async function nodeThread(url: URL | string, onMessage: (m: WorkerReply) => void, onDeath: (why: string) => void): Promise<Thread> {
  const spec = "node:worker_threads";
  type NodeWorker = {
    postMessage(m: unknown): void;
    on(e: string, f: (x: never) => void): void;
    terminate(): Promise<number>;
    ref(): void;
    unref(): void;
  };
  const wt = (await import(/* @vite-ignore */ spec)) as { Worker: new (u: URL | string, o: { execArgv: string[] }) => NodeWorker };
  const w = new wt.Worker(url, { execArgv: workerExecArgv((globalThis as unknown as { process: { execArgv: string[] } }).process.execArgv) });
  w.on("message", onMessage);
  w.on("error", (e: Error) => onDeath(`it threw ${e.name}: ${e.message}`));
  w.on("messageerror", (e: Error) => onDeath(`a message could not be read: ${e.message}`));
  w.on("exit", (code: number) => onDeath(`it exited with code ${code}`));
  return { post: (m) => w.postMessage(m), terminate: () => w.terminate(), keepAlive: (on) => (on ? w.ref() : w.unref()) };
}

/**
 * The parent's Node options a worker needs: only those that decide how modules load (`--import`, `--require`/`-r`,
 * `--loader`/`--experimental-loader`, `--conditions`/`-C`, with their values). Everything else is dropped: the
 * main script's options (`-e`, `--input-type`) and V8/process options (`--experimental-wasm-relaxed-simd`,
 * `--max-old-space-size`), which `new Worker` refuses; V8 flags are process-wide, so workers have them anyway.
 */
export function workerExecArgv(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (/^(--import|--require|-r|--loader|--experimental-loader|--conditions|-C)$/.test(a)) {
      if (i + 1 < argv.length) out.push(a, argv[++i]!);
    } else if (/^--(import|require|loader|experimental-loader|conditions)=/.test(a)) out.push(a);
  }
  return out;
}

/** A browser module Worker. */
function webThread(url: URL | string, onMessage: (m: WorkerReply) => void, onDeath: (why: string) => void): Thread {
  type WebWorker = {
    postMessage(m: unknown): void;
    terminate(): void;
    onmessage: ((ev: { data: WorkerReply }) => void) | null;
    onerror: ((ev: { message?: string; preventDefault?(): void }) => void) | null;
    onmessageerror: (() => void) | null;
  };
  const W = (globalThis as unknown as { Worker: new (u: URL | string, o: { type: "module" }) => WebWorker }).Worker;
  const w = new W(url, { type: "module" });
  w.onmessage = (ev) => onMessage(ev.data);
  w.onerror = (ev) => {
    ev.preventDefault?.();
    onDeath(ev.message ? `it threw: ${ev.message}` : `its script ${String(url)} failed to load or threw (see the console)`);
  };
  w.onmessageerror = () => onDeath("a message could not be read");
  return { post: (m) => w.postMessage(m), terminate: () => w.terminate(), keepAlive: () => undefined };
}
