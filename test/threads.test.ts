// modelc/runtime/threads: every example's outputs with 2 and 3 threads equal one thread's byte for byte (batches
// 1, 3, 37, 64), the same argument errors as Model.run, the one-thread fallback decision (faked host globals),
// bad options, a worker that does not start, a worker that dies mid-run (the run rejects, no hang), close().
// Workers run runtime/threads-worker.ts through test/fixtures/threads-worker.mjs (tsx). Neighbours: runtime/threads*.ts.

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { compile } from "../compiler/index.js";
import { loadModel, ModelcRuntimeError, type Model, type RunInputs, type RunOptions } from "../runtime/index.js";
import { Worker as NodeWorker } from "node:worker_threads";
import { caught, caughtAsync } from "./runtime-fixture.js";
import { loadModelThreaded, loadModelThreadedOn, threadSupport, workerExecArgv, type ThreadedModel, type ThreadOptions } from "../runtime/threads.js";

const ROOT = join(import.meta.dirname, "..");
const WORKER = new URL("./fixtures/threads-worker.mjs", import.meta.url);
const CRASHING = new URL("./fixtures/threads-crash-worker.mjs", import.meta.url);
const WEB_WORKER = new URL("./fixtures/threads-web-worker.mjs", import.meta.url);
const EXAMPLES = readdirSync(join(ROOT, "dsl-examples")).filter((f) => f.endsWith(".model")).sort();

/** The SIMD module of an example compiled with seeded init weights. */
async function artifact(file: string): Promise<Uint8Array> {
  const path = join(ROOT, "dsl-examples", file);
  const r = await compile(readFileSync(path, "utf8"), { file: path, seed: 5, simd: "simd" });
  if (!r.artifact) throw new Error(`${file}: ${r.diagnostics.map((d) => d.message).join("; ")}`);
  return r.artifact.files.get(`${r.artifact.manifest.name}.wasm`)!;
}

/** Seeded inputs for `batch` samples: f32 uniform [-1, 1), i32 ids inside the input's range (default [0, 10)). */
function inputsFor(m: Model, batch: number, seed: number): RunInputs {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
  const out: RunInputs = {};
  for (const spec of m.inputs) {
    const n = batch * spec.elementsPerSample;
    if (spec.dtype === "f32") out[spec.name] = Float32Array.from({ length: n }, () => 2 * next() - 1);
    else {
      const [lo, hi] = spec.range ?? [0, 10];
      out[spec.name] = Int32Array.from({ length: n }, () => lo + Math.floor(next() * (hi - lo)));
    }
  }
  return out;
}

const bytesOf = (a: Float32Array | Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);


const open: ThreadedModel[] = [];
async function threaded(bytes: Uint8Array, options: ThreadOptions): Promise<ThreadedModel> {
  const t = await loadModelThreaded(bytes, { workerUrl: WORKER, ...options });
  open.push(t);
  return t;
}
afterAll(async () => {
  await Promise.all(open.map((t) => t.close()));
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe("outputs equal one thread's, byte for byte", () => {
  for (const file of EXAMPLES) {
    it(file, async () => {
      const bytes = await artifact(file);
      const one = await loadModel(bytes);
      const two = await threaded(bytes, { threads: 2 });
      const three = await threaded(bytes, { threads: 3 });
      expect([two.threads, three.threads]).toEqual([2, 3]);
      for (const batch of [1, 3, 37, 64]) {
        const inputs = inputsFor(one, batch, 7 + batch);
        const want = one.run(inputs);
        // options.outputs: the caller's arrays (prefilled, so an unwritten element shows) get the same bytes
        const mine = () => Object.fromEntries(Object.entries(want).map(([n, w]) => [n, new (w.constructor as Float32ArrayConstructor)(w.length).fill(3)]));
        const oneInto = mine();
        const oneGot = one.run(inputs, { outputs: oneInto });
        for (const [name, w] of Object.entries(want)) {
          expect(oneGot[name]).toBe(oneInto[name]);
          expect(Buffer.compare(bytesOf(oneInto[name]!), bytesOf(w)), `${file} output '${name}' batch ${batch} into caller arrays`).toBe(0);
        }
        for (const t of [two, three]) {
          const into = mine();
          for (const [got, how] of [[await t.run(inputs), "fresh"], [await t.run(inputs, { outputs: into }), "caller arrays"]] as const) {
            expect(Object.keys(got)).toEqual(Object.keys(want));
            for (const [name, w] of Object.entries(want)) {
              const g = got[name]!;
              if (how === "caller arrays") expect(g).toBe(into[name]);
              expect(g.constructor).toBe(w.constructor);
              expect(g.length).toBe(w.length);
              expect(Buffer.compare(bytesOf(g), bytesOf(w)), `${file} output '${name}' batch ${batch} threads ${t.threads} ${how}`).toBe(0);
            }
          }
        }
      }
      await Promise.all([two.close(), three.close()]);
    });
  }
});

describe("loadModelThreaded", () => {
  let mlp: Uint8Array;
  let one: Model;
  beforeAll(async () => {
    mlp = await artifact("mnist-mlp.model");
    one = await loadModel(mlp);
  });

  it("with callerRuns false, `threads` workers compute and outputs are unchanged", async () => {
    const t = await threaded(mlp, { threads: 2, callerRuns: false });
    expect(t.threads).toBe(2);
    const inputs = inputsFor(one, 5, 3);
    const got = await t.run(inputs);
    expect(Buffer.compare(bytesOf(got.probs!), bytesOf(one.run(inputs).probs!))).toBe(0);
    // caller arrays: every slice is a worker's, copied in from the shared buffer; a longer array keeps its tail
    const probs = new Float32Array(60).fill(-1);
    const into = await t.run(inputs, { outputs: { probs } });
    expect(into.probs).toBe(probs);
    expect(Buffer.compare(bytesOf(probs.subarray(0, 50)), bytesOf(got.probs!))).toBe(0);
    expect(Array.from(probs.subarray(50))).toEqual(Array(10).fill(-1));
    expect(Buffer.compare(bytesOf(into.logits!), bytesOf(got.logits!))).toBe(0);
  });

  it("a batch smaller than the thread count uses one thread per sample", async () => {
    const t = await threaded(mlp, { threads: 3 });
    const lanes = (t as unknown as { lanes: { seq: number }[] }).lanes;
    expect(lanes.length).toBe(2);
    const inputs = inputsFor(one, 2, 4);
    const got = await t.run(inputs);
    expect(Buffer.compare(bytesOf(got.logits!), bytesOf(one.run(inputs).logits!))).toBe(0);
    expect(lanes.map((l) => l.seq)).toEqual([1, 0]); // the caller ran sample 0, worker 1 sample 1, worker 2 nothing
    await t.run(inputsFor(one, 1, 4));
    expect(lanes.map((l) => l.seq)).toEqual([1, 0]);
  });

  it("queues overlapping runs and answers each with its own outputs", async () => {
    const t = await threaded(mlp, { threads: 2 });
    const a = inputsFor(one, 9, 1);
    const b = inputsFor(one, 70, 2); // larger: the data buffer is replaced between the two runs
    const [ga, gb] = await Promise.all([t.run(a), t.run(b)]);
    expect(Buffer.compare(bytesOf(ga.probs!), bytesOf(one.run(a).probs!))).toBe(0);
    expect(Buffer.compare(bytesOf(gb.probs!), bytesOf(one.run(b).probs!))).toBe(0);
  });

  it("accepts number[] inputs and an explicit batch like Model.run", async () => {
    const t = await threaded(mlp, { threads: 2 });
    const x = Array.from(inputsFor(one, 4, 9).image as Float32Array);
    const got = await t.run({ image: x }, { batch: 4 });
    expect(Buffer.compare(bytesOf(got.probs!), bytesOf(one.run({ image: x }, { batch: 4 }).probs!))).toBe(0);
  });

  it('nan: "allow" lets NaN through every slice, with the same bytes as Model.run', async () => {
    const t = await threaded(mlp, { threads: 2 });
    const x = inputsFor(one, 4, 5).image as Float32Array;
    x[3 * 784 + 17] = NaN; // in the worker's slice
    x[10] = NaN; // in the caller's slice
    const got = await t.run({ image: x }, { nan: "allow" });
    const want = one.run({ image: x }, { nan: "allow" });
    expect(Number.isNaN(want.probs![3 * 10])).toBe(true);
    expect(Buffer.compare(bytesOf(got.probs!), bytesOf(want.probs!))).toBe(0);
  });

  it("a separate weights file (loaded from bytes) reaches every worker: same bytes as Model.run", async () => {
    const path = join(ROOT, "dsl-examples", "mnist-mlp.model");
    const r = await compile(readFileSync(path, "utf8"), { file: path, seed: 5, simd: "simd", embedWeights: false });
    const files = r.artifact!.files;
    const wasm = files.get("mnist_mlp.wasm") as Uint8Array;
    const weights = files.get("mnist_mlp.weights.bin") as Uint8Array;
    const t = await threaded(wasm, { threads: 3, weights });
    const single = await loadModel(wasm, { weights });
    const inputs = inputsFor(single, 9, 4);
    const got = await t.run(inputs);
    expect(Buffer.compare(bytesOf(got.probs!), bytesOf(single.run(inputs).probs!))).toBe(0);
    expect(Buffer.compare(bytesOf(got.probs!), bytesOf(one.run(inputs).probs!))).toBe(0); // same seed as the embedded one
  });

  it("rejects bad inputs with Model.run's errors", async () => {
    const t = await threaded(mlp, { threads: 2 });
    const cases: [RunInputs, RunOptions][] = [
      [{}, {}],
      [null as unknown as RunInputs, {}],
      [new Float32Array(784) as unknown as RunInputs, {}],
      [{ image: new Float32Array(784 * 3).fill(NaN, 784 * 2 + 5) }, {}], // NaN in the last slice: the caller's check finds it
      [{ image: new Float32Array(784).fill(NaN, 9) }, {}], // batch 1: one slice, scanned as the calling thread copies it in
      [{ image: new Float32Array(784 * 3) }, { outputs: { probs: new Float32Array(29) } }],
      [{ image: new Float32Array(784 * 3) }, { outputs: { prob: new Float32Array(30) } }],
      [{ image: new Float32Array(784) }, { outputs: { logits: new Int32Array(10) } }],
      [{ image: new Float32Array(784 * 2), nope: [1] }, {}],
      [{ image: new Float64Array(784) as unknown as Float32Array }, {}],
      [{ image: new Float32Array(785) }, {}],
      [{ image: new Float32Array(784 * 2) }, { batch: 3 }],
      [{ image: new Float32Array(784) }, { batch: 0 }],
    ];
    for (const [inputs, options] of cases) {
      let want: ModelcRuntimeError | undefined;
      try {
        one.run(inputs, options);
      } catch (e) {
        want = e as ModelcRuntimeError;
      }
      expect(want).toBeInstanceOf(ModelcRuntimeError);
      const got = await caughtAsync(t.run(inputs, options));
      expect([got.code, got.message]).toEqual([want!.code, want!.message]);
    }
  });

  it("an embedding id outside its table is Model.run's bad-value, found by the calling thread in any slice", async () => {
    const bytes = await artifact("mnist-vqa.model");
    const single = await loadModel(bytes);
    const t = await threaded(bytes, { threads: 2 });
    const ids = single.inputs.find((s) => s.range)!;
    for (const batch of [1, 5]) {
      const inputs = inputsFor(single, batch, 11);
      (inputs[ids.name] as Int32Array)[batch * ids.elementsPerSample - 1] = ids.range![1]; // last id of the last slice
      const want = caught(() => single.run(inputs));
      expect(want.code).toBe("bad-value");
      const got = await caughtAsync(t.run(inputs));
      expect([got.code, got.message]).toEqual([want.code, want.message]);
    }
  });

  it("rejects a bad thread count, callerRuns or startTimeoutMs with bad-option", async () => {
    for (const threads of [0, -1, 1.5, 257, "2" as unknown as number, NaN])
      expect((await caughtAsync(loadModelThreaded(mlp, { threads }))).code).toBe("bad-option");
    expect((await caughtAsync(loadModelThreaded(mlp, { threads: 2, callerRuns: "yes" as unknown as boolean }))).code).toBe("bad-option");
    expect((await caughtAsync(loadModelThreaded(mlp, { threads: 2, startTimeoutMs: 0 }))).code).toBe("bad-option");
  });

  it("rejects unknown option keys and non-object options with bad-option, listing loadModel's keys and its own", async () => {
    const valid = "valid options: simd, relaxed, weights, threads, callerRuns, workerUrl, startTimeoutMs";
    const e = await caughtAsync(loadModelThreaded(mlp, { thread: 2 } as never));
    expect([e.code, e.message]).toEqual(["bad-option", `loadModelThreaded(source, options): unknown option 'thread' (did you mean 'threads'?); ${valid}`]);
    expect((await caughtAsync(loadModelThreaded(mlp, { threads: 1, simdd: "off" } as never))).message).toBe(
      `loadModelThreaded(source, options): unknown option 'simdd' (did you mean 'simd'?); ${valid}`);
    expect((await caughtAsync(loadModelThreaded(mlp, { workerURL: "w.js" } as never))).message).toContain("(did you mean 'workerUrl'?)");
    expect((await caughtAsync(loadModelThreaded(mlp, { batch: 4 } as never))).message).toBe(`loadModelThreaded(source, options): unknown option 'batch'; ${valid}`);
    const s = await caughtAsync(loadModelThreaded(mlp, "fast" as never));
    expect([s.code, s.message]).toEqual(["bad-option", `loadModelThreaded(source, options): options must be an object such as { threads: 4 }, got string "fast"`]);
    const t = await loadModelThreaded(mlp, { threads: 1, relaxed: "off", callerRuns: true, workerUrl: undefined, startTimeoutMs: 1000 });
    expect(t.variant).toBe("simd");
    const input = { image: new Float32Array(784) };
    const r = await caughtAsync(t.run(input, { bacth: 1 } as never));
    expect([r.code, r.message]).toEqual(["bad-option", "run(inputs, options): unknown option 'bacth' (did you mean 'batch'?); valid options: batch, nan, outputs"]);
    expect((await caughtAsync(t.run(input, [1] as never))).message).toBe("run(inputs, options): options must be an object such as { batch: 1 }, got array(1)");
    await t.close();
  });

  it("threads: 1 starts no worker and runs like Model.run", async () => {
    const t = await loadModelThreaded(mlp, { threads: 1, workerUrl: "/nonexistent/worker.js" });
    expect(t.threads).toBe(1);
    const inputs = inputsFor(one, 6, 5);
    expect(Buffer.compare(bytesOf((await t.run(inputs)).probs!), bytesOf(one.run(inputs).probs!))).toBe(0);
    await t.close();
  });

  it("a worker that cannot start fails the load with `worker`, naming why", async () => {
    const e = await caughtAsync(loadModelThreaded(mlp, { threads: 2, workerUrl: join(ROOT, "no-such-worker.js") }));
    expect(e.code).toBe("worker");
    expect(e.message).toMatch(/^worker 1 failed to start: .*no-such-worker\.js/);
  });

  it("a worker that never answers fails the load after startTimeoutMs", async () => {
    const silent = new URL("data:text/javascript,setInterval(() => {}, 1000)");
    const e = await caughtAsync(loadModelThreaded(mlp, { threads: 2, workerUrl: silent, startTimeoutMs: 300 }));
    expect(e.code).toBe("worker");
    expect(e.message).toBe("worker 1 failed to start: no answer within 300 ms");
  });

  it("a worker that dies mid-run rejects the run (no hang); later runs reject too; close() still works", async () => {
    const t = await loadModelThreaded(mlp, { threads: 2, workerUrl: CRASHING });
    const inputs = inputsFor(one, 8, 6);
    const e = await caughtAsync(t.run(inputs));
    expect(e.code).toBe("worker");
    expect(e.message).toBe("worker 1 died: it exited with code 7");
    const again = await caughtAsync(t.run(inputs));
    expect(again.code).toBe("worker");
    expect(again.message).toMatch(/^worker 1 died: it exited with code 7; close\(\) this model/);
    await t.close();
  });

  it("run after close() rejects with `closed`; a run pending at close() does not hang", async () => {
    const t = await loadModelThreaded(mlp, { threads: 2, workerUrl: WORKER });
    const inputs = inputsFor(one, 64, 8);
    const pending = t.run(inputs).then(() => "ran", (e: ModelcRuntimeError) => e.code);
    await t.close();
    expect(["ran", "closed"]).toContain(await pending);
    const e = await caughtAsync(t.run(inputs));
    expect([e.code, e.message]).toEqual(["closed", "run(): model 'mnist_mlp' was closed"]);
    await t.close(); // idempotent
  });

  it("falls back to one thread with one console.warn when the host has no SharedArrayBuffer", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    vi.stubGlobal("SharedArrayBuffer", undefined);
    const t = await loadModelThreaded(mlp, { threads: 4, workerUrl: WORKER });
    const t2 = await loadModelThreaded(mlp, { threads: 2, workerUrl: WORKER });
    vi.unstubAllGlobals();
    expect([t.threads, t2.threads]).toEqual([1, 1]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toBe("modelc: threads unavailable, running on one thread: this Node lacks SharedArrayBuffer/Atomics");
    const inputs = inputsFor(one, 3, 2);
    expect(Buffer.compare(bytesOf((await t.run(inputs)).probs!), bytesOf(one.run(inputs).probs!))).toBe(0);
  });

  it("without Atomics.waitAsync (older browsers) completion comes by message, with the same outputs", async () => {
    const noWaitAsync = Object.create(Atomics) as typeof Atomics & { waitAsync?: unknown };
    noWaitAsync.waitAsync = undefined;
    vi.stubGlobal("Atomics", noWaitAsync);
    const t = await threaded(mlp, { threads: 2 });
    vi.unstubAllGlobals();
    expect((t as unknown as { byMessage: boolean }).byMessage).toBe(true);
    for (const batch of [2, 33]) {
      const inputs = inputsFor(one, batch, 13);
      expect(Buffer.compare(bytesOf((await t.run(inputs)).probs!), bytesOf(one.run(inputs).probs!))).toBe(0);
    }
  });

  it("the browser path (module Worker, web worker globals; emulated on worker_threads) gives the same outputs", async () => {
    const made: { url: string; options: unknown }[] = [];
    const inits: Record<string, unknown>[] = [];
    /** A browser Worker's surface over a Node worker running test/fixtures/threads-web-worker.mjs. */
    class FakeWebWorker {
      onmessage: ((ev: { data: unknown }) => void) | null = null;
      onerror: ((ev: { message?: string; preventDefault(): void }) => void) | null = null;
      onmessageerror: (() => void) | null = null;
      private readonly w: NodeWorker;
      constructor(url: URL | string, options: unknown) {
        made.push({ url: String(url), options });
        this.w = new NodeWorker(url);
        this.w.on("message", (data) => this.onmessage?.({ data }));
        this.w.on("error", (e) => this.onerror?.({ message: e.message, preventDefault: () => undefined }));
      }
      postMessage(m: unknown): void {
        if ((m as { type?: unknown }).type === "init") inits.push(m as Record<string, unknown>);
        this.w.postMessage(m);
      }
      terminate(): void {
        void this.w.terminate();
      }
    }
    vi.stubGlobal("Worker", FakeWebWorker);
    const t = await loadModelThreadedOn({ ok: true, host: "web" }, mlp, { threads: 3, workerUrl: WEB_WORKER });
    open.push(t);
    expect(made).toEqual([1, 2].map(() => ({ url: WEB_WORKER.href, options: { type: "module" } })));
    // each worker gets the calling thread's compiled module (no artifact bytes to compile again)
    expect(inits).toHaveLength(2);
    for (const m of inits) {
      expect(m["module"]).toBeInstanceOf(WebAssembly.Module);
      expect([m["variant"], (m["manifest"] as { name: string }).name, "source" in m, "weights" in m]).toEqual([t.variant, "mnist_mlp", false, false]);
    }
    for (const batch of [3, 40]) {
      const inputs = inputsFor(one, batch, 12);
      const got = await t.run(inputs);
      expect(Buffer.compare(bytesOf(got.probs!), bytesOf(one.run(inputs).probs!))).toBe(0);
    }
    await t.close();
    expect((await caughtAsync(t.run(inputsFor(one, 2, 1)))).code).toBe("closed");
  });

  it.skipIf(!existsSync(join(ROOT, "dist/runtime/threads-worker.js")))("the built package finds its worker script by default", async () => {
    const { loadModelThreaded: built } = (await import(join(ROOT, "dist/runtime/threads.js"))) as typeof import("../runtime/threads.js");
    const t = await built(mlp, { threads: 2 });
    const inputs = inputsFor(one, 10, 11);
    expect(Buffer.compare(bytesOf((await t.run(inputs)).probs!), bytesOf(one.run(inputs).probs!))).toBe(0);
    await t.close();
  });
});

describe.skipIf(!existsSync(join(ROOT, "dist/runtime/threads-worker.js")))("Node process lifetime", () => {
  it("a process that never calls close() still exits (idle workers do not keep it alive)", async () => {
    const { spawn } = await import("node:child_process");
    const dir = mkdtempSync(join(tmpdir(), "modelc-threads-"));
    const file = join(dir, "mlp.wasm");
    writeFileSync(file, await artifact("mnist-mlp.model"));
    const script = `
      const { loadModelThreaded } = await import(${JSON.stringify(pathToFileURL(join(ROOT, "dist/runtime/threads.js")).href)});
      const t = await loadModelThreaded(${JSON.stringify(file)}, { threads: 2 });
      const out = await t.run({ image: new Float32Array(784 * 4) });
      console.log("ran", out.probs.length);`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => void (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => void (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => (child.kill("SIGKILL"), resolve(null)), 60_000);
      child.on("exit", (c) => (clearTimeout(timer), resolve(c)));
    });
    rmSync(dir, { recursive: true, force: true });
    expect([code, out.trim()]).toEqual([0, "ran 40"]);
  });
});

describe("workerExecArgv", () => {
  it("keeps only module-loading options: a worker refuses the main script's (--input-type) and V8/process ones", () => {
    expect(workerExecArgv(["--input-type=module", "-e", "code", "--import", "tsx", "--experimental-wasm-relaxed-simd"]))
      .toEqual(["--import", "tsx"]);
    expect(workerExecArgv(["--input-type", "module", "--eval=x", "-p", "1+1", "--conditions=development"])).toEqual(["--conditions=development"]);
    expect(workerExecArgv(["--max-old-space-size=4096", "--no-wasm-lazy-compilation", "-r", "x.cjs", "--loader=l.mjs", "-C", "dev"]))
      .toEqual(["-r", "x.cjs", "--loader=l.mjs", "-C", "dev"]);
  });
  it("under node --experimental-wasm-relaxed-simd --max-old-space-size: workers start and run the relaxed build, same bytes as one thread", { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "modelc-threads-flags-"));
    try {
      const path = join(ROOT, "dsl-examples", "mnist-mlp.model");
      const r = await compile(readFileSync(path, "utf8"), { file: path, seed: 5 });
      for (const [name, data] of r.artifact!.files) writeFileSync(join(dir, name), data);
      const wasm = join(dir, r.artifact!.manifest.modules.simd!);
      const script = `
        import { loadModel } from ${JSON.stringify(join(ROOT, "dist/runtime/index.js"))};
        import { loadModelThreaded } from ${JSON.stringify(join(ROOT, "dist/runtime/threads.js"))};
        const one = await loadModel(${JSON.stringify(wasm)});
        const tm = await loadModelThreaded(${JSON.stringify(wasm)}, { threads: 2 });
        const x = new Float32Array(784 * 8).map((_, i) => Math.sin(i));
        const a = one.run({ image: x }, { batch: 8 }).logits, b = (await tm.run({ image: x }, { batch: 8 })).logits;
        await tm.close();
        console.log(JSON.stringify({ one: one.variant, tm: tm.variant, threads: tm.threads, same: Buffer.compare(Buffer.from(a.buffer), Buffer.from(b.buffer)) === 0 }));`;
      const out = execFileSync(process.execPath, ["--experimental-wasm-relaxed-simd", "--max-old-space-size=2048", "--input-type=module", "-e", script], { encoding: "utf8" });
      expect(JSON.parse(out.trim().split("\n").pop()!)).toEqual({ one: "relaxed", tm: "relaxed", threads: 2, same: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("threadSupport (host globals faked)", () => {
  const SAB = SharedArrayBuffer;
  class FakeWorker {}
  it("Node: threads when SharedArrayBuffer and Atomics exist", () => {
    expect(threadSupport({ process: { versions: { node: "20.0.0" } }, SharedArrayBuffer: SAB, Atomics })).toEqual({ ok: true, host: "node" });
    expect(threadSupport({ process: { versions: { node: "20.0.0" } }, Atomics })).toMatchObject({ ok: false, host: "node" });
  });
  it("browser: threads only under cross-origin isolation", () => {
    expect(threadSupport({ Worker: FakeWorker, crossOriginIsolated: true, SharedArrayBuffer: SAB, Atomics })).toEqual({ ok: true, host: "web" });
    const notIsolated = threadSupport({ Worker: FakeWorker, crossOriginIsolated: false, Atomics });
    expect(notIsolated.ok).toBe(false);
    expect(notIsolated.why).toMatch(/cross-origin isolation.*Cross-Origin-Opener-Policy: same-origin.*Cross-Origin-Embedder-Policy: require-corp/);
    // isolation claimed but no SharedArrayBuffer (an old browser), or no flag at all: one thread
    expect(threadSupport({ Worker: FakeWorker, crossOriginIsolated: true, Atomics }).ok).toBe(false);
    expect(threadSupport({ Worker: FakeWorker, SharedArrayBuffer: SAB, Atomics }).ok).toBe(false);
  });
  it("a host without Worker: one thread", () => {
    expect(threadSupport({ SharedArrayBuffer: SAB, Atomics, crossOriginIsolated: true })).toEqual({ ok: false, host: "web", why: "this host has no Worker" });
  });
});
