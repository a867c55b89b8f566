// The `infer` suite: inference latency of modelc against onnxruntime-web (wasm SIMD), tfjs-backend-wasm (XNNPACK) and
// onnxruntime-node (native) on the issue-5 workloads, the measured wasm SIMD peak, compile times and artifact sizes.
// Neighbours: bench/run.js (entry), bench/engines/infer.js (one process per engine), bench/peak.js, bench/models/*.model.
// @ts-check

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { EngineProcess, fmt, markdownTable, parseArgs, percentile, randomInput } from "./lib.js";
import { measurePeak } from "./peak.js";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const ROOT = join(HERE, "..");
const dist = (/** @type {string} */ path) => new URL(`../dist/${path}`, import.meta.url).href;

export const INFER_USAGE = `usage: node bench/run.js infer [options]

Inference latency (µs per call, input array to output array, one thread) of modelc (SIMD build; modelc-relaxed: the
relaxed-SIMD build in a node with --experimental-wasm-relaxed-simd), onnxruntime-web (wasm SIMD),
tfjs-backend-wasm (XNNPACK SIMD) and onnxruntime-node (native), on: MLP 784-256-128-10 and CNN at batch 1 and 64,
GEMM 512x512x512 (a bias-free dense(512) at batch 512), and the transformer encoder block when
dsl-examples/transformer-block.model exists. Every engine gets the same weights (onnxruntime: modelc export --onnx;
tfjs: the same graph in tf ops) and its outputs are compared with modelc's before timing.

options:
  --engines a,b,...   engines (default modelc,modelc-relaxed,ort-web,tfjs-wasm,ort-node)
  --workloads a,b     workload ids (default all: mlp-b1,mlp-b64,cnn-b1,cnn-b64,gemm,transformer-b1)
  --rounds N          timed rounds per engine and workload, interleaved (default 12; --quick 4)
  --round-ms N        minimum milliseconds per round (default 120; --quick 60)
  --warmup-ms N       warm-up per engine and workload, doubled for the first workload (default 1500; --quick 300):
                      V8 tiers a large wasm module (onnxruntime-web's) up over seconds
  --quick             a fast look
  --no-extras         skip the peak, compile-time and size measurements
  --out FILE          results markdown (default bench/results/infer-DATE.md)`;

/** @typedef {import("./engines/infer.js").Workload} Workload */

/** Workload id -> model file, kind, batch. */
const WORKLOADS = [
  { id: "mlp-b1", label: "MLP 784-256-128-10, batch 1", kind: "mlp", model: "bench/models/mlp.model", batch: 1 },
  { id: "mlp-b64", label: "MLP, batch 64", kind: "mlp", model: "bench/models/mlp.model", batch: 64 },
  { id: "cnn-b1", label: "CNN (conv3x3·8, pool, conv3x3·16, pool, dense 10), batch 1", kind: "cnn", model: "bench/models/cnn.model", batch: 1 },
  { id: "cnn-b64", label: "CNN, batch 64", kind: "cnn", model: "bench/models/cnn.model", batch: 64 },
  { id: "gemm", label: "GEMM 512×512×512 (constant weights)", kind: "gemm", model: "bench/models/gemm.model", batch: 512 },
  { id: "transformer-b1", label: "Transformer encoder block (seq 64, d 128, 4 heads, FFN 512), batch 1", kind: "transformer", model: "dsl-examples/transformer-block.model", batch: 1 },
];
const ENGINES = ["modelc", "modelc-relaxed", "ort-web", "tfjs-wasm", "ort-node"];
/** Extra node flags per engine: the relaxed-SIMD build needs relaxed SIMD, behind a flag in Node 20. */
const NODE_FLAGS = { "modelc-relaxed": ["--experimental-wasm-relaxed-simd"] };
const WASM_PEERS = ["ort-web", "tfjs-wasm"];


/**
 * Write every workload's files into `dir`: weights (seeded PyTorch-style init) as safetensors, the ONNX export, the
 * input. Returns the workloads that can run, and notes for those skipped.
 * @param {string} dir @param {string[]} ids
 */
async function prepare(dir, ids) {
  const { checkSource, initWeights, writeSafetensors } = await import(dist("compiler/index.js"));
  const { exportOnnx, onnxGraph } = await import(dist("compiler/export/onnx.js"));
  /** @type {(Workload & {label: string})[]} */
  const ready = [];
  /** @type {string[]} */
  const notes = [];
  for (const w of WORKLOADS.filter((x) => ids.includes(x.id))) {
    const modelFile = join(ROOT, w.model);
    if (!existsSync(modelFile)) {
      notes.push(`${w.label}: skipped, ${w.model} does not exist yet (needs multihead_attention and the transformer-block example)`);
      continue;
    }
    const checked = checkSource(readFileSync(modelFile, "utf8"), modelFile);
    const errors = checked.diagnostics.filter((/** @type {{severity: string}} */ d) => d.severity === "error");
    if (!checked.graph || errors.length) {
      notes.push(`${w.label}: skipped, ${w.model} does not check: ${errors.map((/** @type {{message: string}} */ d) => d.message).join("; ")}`);
      continue;
    }
    const graph = onnxGraph(checked.graph);
    const weights = initWeights(graph, 0);
    const input = graph.inputs[0];
    const inputShape = graph.values[input.value].type.shape.slice(1);
    const per = inputShape.reduce((/** @type {number} */ a, /** @type {number} */ b) => a * b, 1);
    const stem = join(dir, w.id);
    const tensors = new Map([...weights].map(([k, t]) => [k, { dtype: "F32", shape: t.shape, data: t.data }]));
    writeFileSync(`${stem}.safetensors`, writeSafetensors(tensors));
    try {
      writeFileSync(`${stem}.onnx`, exportOnnx(graph, weights));
    } catch (e) {
      notes.push(`${w.label}: no ONNX export (${e instanceof Error ? e.message : e}); onnxruntime skipped`);
    }
    const x = randomInput(per * w.batch, 17 + w.batch);
    writeFileSync(`${stem}.input.f32`, new Uint8Array(x.buffer));
    ready.push({
      id: w.id,
      label: w.label,
      kind: /** @type {Workload["kind"]} */ (w.kind),
      modelFile,
      weightsFile: `${stem}.safetensors`,
      onnxFile: `${stem}.onnx`,
      inputFile: `${stem}.input.f32`,
      inputName: input.name,
      inputShape,
      outputName: graph.outputs[0].name,
      batch: w.batch,
    });
  }
  return { ready, notes };
}

/** @param {string} b64 */
const f32 = (b64) => {
  const b = Buffer.from(b64, "base64");
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
};

/** Single-core peak GFLOP/s, plain SIMD here and relaxed SIMD in a child node with the flag. */
async function peaks() {
  const plain = await measurePeak({ relaxed: false, ms: 40, rounds: 15 });
  /** @type {{gflops: number, best: number} | {error: string}} */
  let relaxed;
  try {
    const out = execFileSync(process.execPath, ["--experimental-wasm-relaxed-simd", join(HERE, "peak.js"), "--relaxed", "--ms", "40"], { encoding: "utf8" });
    relaxed = JSON.parse(out.trim().split("\n").pop() ?? "{}");
  } catch (e) {
    relaxed = { error: e instanceof Error ? e.message.split("\n")[0] : String(e) };
  }
  return { plain, relaxed };
}

/**
 * Compile time and artifact sizes of each example and bench model. Two compile times: warm (median of 3 compiles
 * in this process, after a first compile that loaded and warmed binaryen, the compiler and V8's JIT) and first
 * compile in a fresh process (scripts/compile-time.ts: per example, 3 fresh `node` processes, each importing
 * binaryen and then timing import of the compiler + compile() with default options; median CPU and wall ms).
 * Runtime size: dist/runtime/*.js as built (unminified), and as a user ships it: runtime/index bundled and
 * minified by esbuild (ESM), each gzip -9.
 */
export async function compileStats() {
  const { compile } = await import(dist("compiler/index.js"));
  const { firstCompileTimes } = await import(dist("scripts/compile-time.js"));
  const files = [
    ...readdirSync(join(ROOT, "dsl-examples")).filter((f) => f.endsWith(".model")).map((f) => join(ROOT, "dsl-examples", f)),
    ...["mlp", "cnn", "gemm"].map((m) => join(ROOT, "bench/models", `${m}.model`)),
  ];
  /** @type {Map<string, {cpuMs: number, wallMs: number, compileCpuMs: number, compileWallMs: number, ok: boolean}>} */
  let first = new Map();
  /** @type {string | undefined} */
  let firstError;
  try {
    first = firstCompileTimes(files, 3);
  } catch (e) {
    firstError = e instanceof Error ? e.message.split("\n")[0] : String(e);
  }
  await compile(readFileSync(files[0], "utf8"), { file: files[0] }); // loads binaryen
  const rows = [];
  for (const file of files) {
    const source = readFileSync(file, "utf8");
    const ms = [];
    /** @type {any} */
    let r;
    try {
      for (let k = 0; k < 3; k++) {
        const t0 = performance.now();
        r = await compile(source, { file, embedWeights: false });
        ms.push(performance.now() - t0);
      }
    } catch (e) {
      rows.push({ file, error: e instanceof Error ? e.message.split("\n")[0] : String(e) });
      continue;
    }
    if (!r.artifact) {
      rows.push({ file, error: r.diagnostics.map((/** @type {{message: string}} */ d) => d.message).join("; ").slice(0, 200) });
      continue;
    }
    const name = r.artifact.manifest.name;
    const code = /** @type {Uint8Array} */ (r.artifact.files.get(`${name}.wasm`));
    const weights = /** @type {Uint8Array} */ (r.artifact.files.get(`${name}.weights.bin`)) ?? new Uint8Array();
    const f = first.get(file);
    rows.push({ file, ms: percentile(ms, 50), first: f?.ok ? f : undefined, code: code.length, codeGz: gzipSync(code, { level: 9 }).length, weights: weights.length, weightsGz: gzipSync(weights, { level: 9 }).length });
  }
  const runtimeDir = join(ROOT, "dist/runtime");
  // The core runtime (modelc/runtime); the opt-in threads entry (modelc/runtime/threads + its worker) is reported apart.
  const js = readdirSync(runtimeDir).filter((f) => f.endsWith(".js") && !f.startsWith("threads")).sort().map((f) => readFileSync(join(runtimeDir, f)));
  const runtime = Buffer.concat(js);
  /** @param {string} entry @returns {Promise<{bytes: number, gz: number} | {error: string}>} */
  const bundle = async (entry) => {
    try {
      const { build } = await import("esbuild");
      const out = await build({ entryPoints: [join(runtimeDir, entry)], bundle: true, minify: true, format: "esm", platform: "neutral", external: ["node:*"], write: false, logLevel: "silent" });
      const bytes = out.outputFiles[0].contents;
      return { bytes: bytes.length, gz: gzipSync(bytes, { level: 9 }).length };
    } catch (e) {
      return { error: e instanceof Error ? e.message.split("\n")[0] : String(e) };
    }
  };
  const minified = await bundle("index.js");
  const threads = { main: await bundle("threads.js"), worker: await bundle("threads-worker.js") };
  return { rows, firstError, load: loadavg()[0], runtime: { bytes: runtime.length, gz: gzipSync(runtime, { level: 9 }).length, files: js.length, minified, threads } };
}

/**
 * `modelc export --onnx` of every dsl-examples model with random weights (seeded, every tensor uniform in [-0.5, 0.5),
 * running variances in [0.5, 1.5)), run in onnxruntime-node against modelc on 3 samples: max abs difference per output,
 * or the reason the export or the run failed. Inputs: f32 uniform [-1, 1); i32 ids within the manifest's range.
 */
async function exportChecks() {
  const { compile, checkSource, initWeights } = await import(dist("compiler/index.js"));
  const { exportOnnx, onnxGraph } = await import(dist("compiler/export/onnx.js"));
  const { selectHeads } = await import(dist("compiler/passes/select-heads.js"));
  const { loadModel } = await import(dist("runtime/index.js"));
  /** @type {any} */
  const ort = (await import("onnxruntime-node")).default;
  /**
   * Export (only `heads` when given) and compare; returns the per-output differences.
   * @param {string} file @param {string} source @param {any} lowered @param {string[] | undefined} heads
   */
  const checkOne = async (file, source, lowered, heads) => {
    const graph = onnxGraph(heads ? selectHeads(lowered, heads) : lowered);
    const weights = initWeights(graph, 1);
    let k = 0;
    for (const [name, t] of weights) {
      const r = randomInput(t.data.length, 1000 + k++);
      for (let i = 0; i < r.length; i++) t.data[i] = name.endsWith("running_var") ? 1 + r[i] / 2 : r[i] / 2;
    }
    const onnx = exportOnnx(graph, weights);
    const r = await compile(source, { file, weights, simd: "simd", ...(heads ? { heads } : {}) });
    const model = await loadModel(r.artifact.files.get(`${r.artifact.manifest.name}.wasm`));
    const B = 3;
    /** @type {Record<string, Float32Array | Int32Array>} */
    const ins = {};
    /** @type {Record<string, any>} */
    const feeds = {};
    r.artifact.manifest.inputs.forEach((/** @type {any} */ i, /** @type {number} */ n) => {
      const u = randomInput(B * i.elementsPerSample, 77 + n);
      const shape = [B, ...i.shape.slice(1)];
      if (i.dtype === "i32") {
        const hi = i.range ? i.range[1] : 2;
        const x = Int32Array.from(u, (v) => Math.min(hi - 1, Math.floor(((v + 1) / 2) * hi)));
        ins[i.name] = x;
        feeds[i.name] = new ort.Tensor("int32", x, shape);
      } else {
        ins[i.name] = u;
        feeds[i.name] = new ort.Tensor("float32", u, shape);
      }
    });
    const want = model.run(ins, { batch: B });
    const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1 });
    const got = await session.run(feeds);
    return Object.keys(want).map((o) => {
      let d = 0;
      let s = 1;
      for (let i = 0; i < want[o].length; i++) {
        d = Math.max(d, Math.abs(want[o][i] - got[o].data[i]));
        s = Math.max(s, Math.abs(want[o][i]));
      }
      return `${o} ${d.toExponential(1)} (of max ${fmt(s)})`;
    });
  };
  const rows = [];
  for (const f of readdirSync(join(ROOT, "dsl-examples")).filter((x) => x.endsWith(".model")).sort()) {
    const file = join(ROOT, "dsl-examples", f);
    try {
      const source = readFileSync(file, "utf8");
      const lowered = checkSource(source, file).graph;
      try {
        rows.push([f, (await checkOne(file, source, lowered, undefined)).join(", ")]);
      } catch (e) {
        if (!(e instanceof Error && e.name === "OnnxExportError")) throw e;
        // the outputs that export on their own (--heads), and the reason for the others
        const parts = [];
        for (const o of lowered.outputs.map((/** @type {{name: string}} */ x) => x.name)) {
          try {
            parts.push(`${(await checkOne(file, source, lowered, [o])).join(", ")} (--heads ${o})`);
          } catch (e2) {
            parts.push(`${o}: not exportable (${e2 instanceof Error ? e2.message.split(" (exportable")[0].replace("cannot export to ONNX: ", "") : e2})`);
          }
        }
        rows.push([f, parts.join("; ")]);
      }
    } catch (e) {
      rows.push([f, `failed: ${e instanceof Error ? e.message.split("\n")[0] : e}`]);
    }
  }
  return rows;
}

/** @param {number} n */
const kb = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB` : `${(n / 1e3).toFixed(1)} KB`);

/** Run the suite. @param {string[]} argv */
export async function inferSuite(argv) {
  const { options } = parseArgs(argv);
  if (options.help || options.h) {
    console.log(INFER_USAGE);
    return;
  }
  const quick = options.quick === true;
  const rounds = Number(options.rounds ?? (quick ? 4 : 12));
  const roundMs = Number(options["round-ms"] ?? (quick ? 60 : 120));
  const warmupMs = Number(options["warmup-ms"] ?? (quick ? 300 : 1500));
  const engines = String(options.engines ?? ENGINES.join(",")).split(",");
  const ids = String(options.workloads ?? WORKLOADS.map((w) => w.id).join(",")).split(",");
  if (!existsSync(join(ROOT, "dist/compiler/export/onnx.js"))) throw new Error("dist/ is missing or stale: run npm run build (npm run bench -- infer does)");
  const started = performance.now();
  const load0 = loadavg()[0];
  const dir = mkdtempSync(join(tmpdir(), "modelc-bench-infer-"));
  try {
    const { ready, notes } = await prepare(dir, ids);
    for (const n of notes) console.log(`note: ${n}`);
    const configFile = join(dir, "config.json");
    writeFileSync(configFile, JSON.stringify({ workloads: ready }));

    /** @type {Map<string, EngineProcess>} */
    const procs = new Map();
    /** @type {Record<string, Record<string, string>>} engine -> workload -> why it cannot run */
    const unavailable = {};
    for (const e of engines)
      procs.set(e, new EngineProcess(e, process.execPath, [...(NODE_FLAGS[/** @type {keyof NODE_FLAGS} */ (e)] ?? []), join(HERE, "engines/infer.js"), e, configFile]));
    for (const [e, p] of procs) {
      const msg = await p.next();
      if (msg.error) {
        console.log(`${e}: not available (${msg.error})`);
        notes.push(`${e}: not available (${msg.error})`);
        unavailable[e] = Object.fromEntries(ready.map((w) => [w.id, msg.error]));
        await p.close();
        procs.delete(e);
      } else unavailable[e] = { ...msg.failed };
    }
    if (!procs.has("modelc")) throw new Error("modelc's engine did not start; nothing to compare with");

    // 1. outputs against modelc's, before any timing
    /** @type {Record<string, Record<string, number>>} */
    const diffs = {};
    for (const w of ready) {
      const ref = await procs.get("modelc")?.request({ cmd: "check", id: w.id });
      if (ref.error) {
        unavailable.modelc[w.id] = ref.error;
        continue;
      }
      const want = f32(ref.output);
      const line = [];
      for (const [e, p] of procs) {
        if (e === "modelc" || unavailable[e][w.id]) continue;
        const got = await p.request({ cmd: "check", id: w.id });
        if (got.error) {
          unavailable[e][w.id] = got.error;
          continue;
        }
        const y = f32(got.output);
        let d = y.length === want.length ? 0 : Infinity;
        let scale = 1;
        for (let i = 0; i < Math.min(y.length, want.length); i++) {
          d = Math.max(d, Math.abs(y[i] - want[i]));
          scale = Math.max(scale, Math.abs(want[i]));
        }
        (diffs[w.id] ??= {})[e] = d;
        line.push(`${e} ${d.toExponential(1)}`);
        if (!(d <= 1e-3 * scale)) unavailable[e][w.id] = `outputs differ from modelc's (max abs diff ${d.toExponential(2)})`;
      }
      console.log(`check ${w.id}: max |engine - modelc| = ${line.join(", ") || "(no peer)"}`);
    }

    // 2. warm-up, then rounds interleaved round-robin (the engine order rotates every round)
    /** @type {Record<string, Record<string, number[]>>} workload -> engine -> µs per call */
    const times = {};
    /** @type {Record<string, Record<string, number[]>>} workload -> engine -> CPU µs per call, one per round */
    const cpu = {};
    /** @type {Record<string, {gemm: number, kernel: number, peak: number}[]>} engine -> per GEMM round: GFLOP/s per CPU-second of the GEMM (input array to output array), of the module's run() alone, and of the peak loop */
    const gemmVsPeak = {};
    /** The GEMM's engines also time bench/peak.js's loop right after each GEMM round, in the same process, so both see the same load. */
    const pairsPeak = (/** @type {Workload} */ w, /** @type {string} */ e) => w.kind === "gemm" && (e === "modelc" || e === "modelc-relaxed");
    for (const [wi, w] of ready.entries()) {
      const live = [...procs.keys()].filter((e) => !unavailable[e][w.id]);
      for (const e of live) {
        await procs.get(e)?.request({ cmd: "round", id: w.id, minMs: wi === 0 ? 2 * warmupMs : warmupMs, maxIters: 1e6 });
        if (pairsPeak(w, e)) await procs.get(e)?.request({ cmd: "peak", id: w.id, minMs: roundMs });
      }
      for (let r = 0; r < rounds; r++)
        for (let k = 0; k < live.length; k++) {
          const e = live[(k + r) % live.length];
          const ans = await procs.get(e)?.request({ cmd: "round", id: w.id, minMs: roundMs, maxIters: 1e6 });
          if (ans.error) unavailable[e][w.id] = ans.error;
          else {
            ((times[w.id] ??= {})[e] ??= []).push(...ans.us);
            ((cpu[w.id] ??= {})[e] ??= []).push(ans.cpuUs);
            if (pairsPeak(w, e)) {
              const pk = await procs.get(e)?.request({ cmd: "peak", id: w.id, minMs: roundMs });
              if (pk.error) notes.push(`${e}: no peak round (${pk.error})`);
              else (gemmVsPeak[e] ??= []).push({ gemm: (2 * 512 ** 3) / ans.cpuUs / 1e3, kernel: (2 * 512 ** 3) / pk.kernelCpuUs / 1e3, peak: pk.cpuGflops });
            }
          }
        }
      const med = (/** @type {string} */ e) => percentile(times[w.id]?.[e] ?? [], 50);
      console.log(`timed ${w.id}: ${live.map((e) => `${e} ${fmt(med(e))} µs`).join(", ")}`);
    }
    for (const p of procs.values()) await p.close();

    const extras = options["no-extras"] === true ? undefined : { peak: await peaks(), compile: await compileStats(), exports: await exportChecks() };
    const report = renderReport({ ready, notes, engines, times, cpu, diffs, unavailable, extras, gemmVsPeak, rounds, roundMs, warmupMs, load: [load0, loadavg()[0]], seconds: (performance.now() - started) / 1000 });
    console.log("\n" + report);
    const date = new Date().toISOString().slice(0, 10);
    const out = String(options.out ?? join(HERE, "results", `infer-${date}.md`));
    mkdirSync(join(out, ".."), { recursive: true });
    const { writeFileAtomic } = await import(dist("compiler/io/atomic.js"));
    await writeFileAtomic(out, report + "\n");
    console.log(`\nwrote ${out}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The markdown report.
 * @param {{ready: (Workload & {label: string})[], notes: string[], engines: string[], times: Record<string, Record<string, number[]>>, cpu: Record<string, Record<string, number[]>>,
 *   diffs: Record<string, Record<string, number>>, unavailable: Record<string, Record<string, string>>, extras?: {peak: any, compile: any, exports: string[][]},
 *   gemmVsPeak: Record<string, {gemm: number, kernel: number, peak: number}[]>,
 *   rounds: number, roundMs: number, warmupMs: number, load: number[], seconds: number}} r
 */
function renderReport(r) {
  const lines = [];
  const date = new Date().toISOString().slice(0, 16).replace("T", " ");
  lines.push(`# modelc inference benchmark (${date} UTC)`, "");
  lines.push(
    `Node ${process.version}, one thread per engine, µs per call from input array to output array: median (p90) over every call of ${r.rounds} interleaved rounds of ≥ ${r.roundMs} ms per engine, after a warm-up of ${r.warmupMs} ms per engine and workload (twice that for the first). ` +
      `Load average ${r.load[0].toFixed(1)} before, ${r.load[1].toFixed(1)} after (2 cores). Ratio = modelc ÷ the best wasm peer (onnxruntime-web, tfjs-wasm); below 1 modelc is faster. modelc is the plain SIMD build (NAME.wasm); modelc-relaxed the relaxed-SIMD build (NAME.relaxed.wasm, f32x4.relaxed_madd in the GEMM kernels) in a node with --experimental-wasm-relaxed-simd, what loadModel picks on hosts with relaxed SIMD.`,
    "",
  );
  const shown = r.engines.filter((e) => r.ready.some((w) => r.times[w.id]?.[e]) || e === "modelc");
  const relaxedShown = shown.includes("modelc-relaxed");
  /** modelc and modelc-relaxed ÷ the best wasm peer, from per-engine medians. @param {(e: string) => number} med */
  const ratios = (med) => {
    const peers = WASM_PEERS.map(med).filter(Number.isFinite);
    const best = peers.length ? Math.min(...peers) : NaN;
    const ratio = (/** @type {string} */ e) => (Number.isFinite(best) && Number.isFinite(med(e)) ? `${(med(e) / best).toFixed(2)}×` : "—");
    return relaxedShown ? [ratio("modelc"), ratio("modelc-relaxed")] : [ratio("modelc")];
  };
  const ratioHeads = relaxedShown ? ["modelc ÷ best wasm peer", "modelc-relaxed ÷ best wasm peer"] : ["modelc ÷ best wasm peer"];
  const header = ["workload", ...shown, ...ratioHeads];
  const rows = [];
  for (const w of r.ready) {
    const t = r.times[w.id] ?? {};
    const med = (/** @type {string} */ e) => (t[e]?.length ? percentile(t[e], 50) : NaN);
    const cells = shown.map((e) => {
      if (!t[e]?.length) return r.unavailable[e]?.[w.id] ? `n/a (${r.unavailable[e][w.id].slice(0, 60)})` : "—";
      let s = `${fmt(med(e))} (${fmt(percentile(t[e], 90))})`;
      if (w.kind === "gemm") s += ` ${(2 * 512 ** 3 / med(e) / 1e3).toFixed(1)} GFLOP/s`;
      return s;
    });
    rows.push([w.label, ...cells, ...ratios(med)]);
  }
  lines.push(markdownTable(header, rows, [false, ...shown.map(() => true), ...ratioHeads.map(() => true)]), "");
  // CPU time per call (this engine process, all threads; median over rounds): on a loaded machine wall time includes
  // waiting for a core, CPU time much less so.
  const cpuRows = r.ready.map((w) => {
    const c = r.cpu[w.id] ?? {};
    const med = (/** @type {string} */ e) => (c[e]?.length ? percentile(c[e], 50) : NaN);
    return [w.id, ...shown.map((e) => fmt(med(e))), ...ratios(med)];
  });
  lines.push("CPU µs per call (the engine process's CPU time over a round ÷ calls, median over rounds; all threads, so V8's background tier-up compilation counts too; much less sensitive to the machine's load than wall time):", "");
  lines.push(markdownTable(["workload", ...shown, ...ratioHeads], cpuRows, [false, ...shown.map(() => true), ...ratioHeads.map(() => true)]), "");
  const diffLine = r.ready
    .filter((w) => r.diffs[w.id])
    .map((w) => `${w.id}: ${Object.entries(r.diffs[w.id]).map(([e, d]) => `${e} ${d.toExponential(1)}`).join(", ")}`)
    .join("; ");
  lines.push(`Outputs checked against modelc's before timing (max abs diff): ${diffLine || "none"}.`, "");
  for (const n of r.notes) lines.push(`- ${n}`);
  if (r.notes.length) lines.push("");
  // The GEMM against the peak loop timed in the same engine process right after each GEMM round (as
  // scripts/gemm-peak.ts --interleaved does): load disturbs both alike, unlike a peak measured minutes apart.
  const vsPeak = Object.entries(r.gemmVsPeak).map(([e, rs]) => {
    const med = (/** @type {(x: {gemm: number, kernel: number, peak: number}) => number} */ f) => percentile(rs.map(f), 50);
    const kind = e === "modelc-relaxed" ? "relaxed-SIMD FMA" : "plain SIMD";
    return (
      `${e}: peak (${kind}) ${med((x) => x.peak).toFixed(1)}, GEMM ${med((x) => x.gemm).toFixed(1)} = **${(100 * med((x) => x.gemm / x.peak)).toFixed(0)}%**, ` +
      `module run() alone ${med((x) => x.kernel).toFixed(1)} = **${(100 * med((x) => x.kernel / x.peak)).toFixed(0)}%**`
    );
  });
  if (vsPeak.length)
    lines.push(
      `GEMM 512³ against the wasm SIMD peak, interleaved (GFLOP/s per CPU-second, median over ${r.rounds} rounds; % = median of the per-round ratios): right after each GEMM round the same engine process times bench/peak.js's loop for ≥ ${r.roundMs} ms, then the module's exported run(512) alone (without the runtime's input copy and output slice) for ≥ ${r.roundMs} ms, so load disturbs all three alike. ${vsPeak.join("; ")}.`,
      "",
    );
  if (r.extras) {
    const { peak, compile } = r.extras;
    const gemmT = r.times["gemm"]?.["modelc"];
    const gemmC = r.cpu["gemm"]?.["modelc"];
    const flops = 2 * 512 ** 3;
    const gemmG = gemmT?.length ? flops / percentile(gemmT, 50) / 1e3 : NaN;
    const gemmCpuG = gemmC?.length ? flops / percentile(gemmC, 50) / 1e3 : NaN;
    const pk = (/** @type {any} */ p) => `${p.cpuGflops.toFixed(1)} GFLOP/s per CPU-second (wall: median ${p.gflops.toFixed(1)}, best ${p.best.toFixed(1)})`;
    lines.push("## Peak, compile time, sizes", "");
    lines.push(
      `Single-core wasm SIMD peak (12 independent f32x4 multiply-add chains, bench/peak.js): plain SIMD (mul + add) ${pk(peak.plain)}; ` +
        (peak.relaxed.error ? `relaxed SIMD: not measured (${peak.relaxed.error}).` : `relaxed-SIMD FMA (node --experimental-wasm-relaxed-simd) ${pk(peak.relaxed)}.`),
      "",
    );
    if (Number.isFinite(gemmG))
      lines.push(
        `modelc GEMM 512³: ${gemmCpuG.toFixed(1)} GFLOP/s per CPU-second = ${((100 * gemmCpuG) / peak.plain.cpuGflops).toFixed(0)}% of the plain peak measured the same way after the timing (not interleaved: see above) ` +
          `(wall: ${gemmG.toFixed(1)} GFLOP/s median = ${((100 * gemmG) / peak.plain.best).toFixed(0)}% of the best wall peak).`,
        "",
      );
    const relaxedC = r.cpu["gemm"]?.["modelc-relaxed"];
    if (relaxedC?.length && !peak.relaxed.error) {
      const g = flops / percentile(relaxedC, 50) / 1e3;
      lines.push(`modelc-relaxed GEMM 512³: ${g.toFixed(1)} GFLOP/s per CPU-second = ${((100 * g) / peak.relaxed.cpuGflops).toFixed(0)}% of the relaxed-SIMD peak measured the same way after the timing.`, "");
    }
    const firstCell = (/** @type {any} */ c) =>
      c.first
        ? `${c.first.cpuMs.toFixed(0)} ms CPU, ${c.first.wallMs.toFixed(0)} ms wall (compile() alone ${c.first.compileCpuMs.toFixed(0)} CPU, ${c.first.compileWallMs.toFixed(0)} wall)`
        : compile.firstError
          ? "n/a"
          : "—";
    const crow = compile.rows.map((/** @type {any} */ c) =>
      c.error
        ? [basename(c.file), `error: ${c.error}`, "", "", ""]
        : [basename(c.file), firstCell(c), `${c.ms.toFixed(0)} ms`, `${kb(c.code)} (${kb(c.codeGz)} gzip)`, `${kb(c.weights)} (${kb(c.weightsGz)} gzip)`],
    );
    lines.push(
      markdownTable(
        ["model", "first compile in a fresh process (binaryen imported)", "warm compile (SIMD + relaxed + scalar; binaryen loaded)", "SIMD module without weights", "weights"],
        crow,
        [false, true, true, true, true],
      ),
      "",
    );
    lines.push(
      `First compile: per example 3 fresh \`node\` processes (scripts/compile-time.ts), each times import of the compiler + compile() with default options (and, in brackets, compile() alone, the compiler already imported) after \`await import("binaryen")\` resolved; median; CPU = the process's user + system time (all threads, so V8's background compilation of binaryen's wasm counts), load average ${compile.load.toFixed(1)} when done.` +
        (compile.firstError ? ` Not measured: ${compile.firstError}.` : "") +
        " Warm: median of 3 compiles (embedWeights false) in this process after a first compile.",
      "",
    );
    const mini = compile.runtime.minified;
    lines.push(
      `Runtime: as shipped to users (runtime/index bundled + minified by esbuild, ESM): ` +
        (mini.error ? `not measured (${mini.error})` : `${kb(mini.bytes)}, **${kb(mini.gz)} gzip**`) +
        `; unminified (dist/runtime/*.js without threads*, ${compile.runtime.files} files, with comments): ${kb(compile.runtime.bytes)}, ${kb(compile.runtime.gz)} gzip.` +
        (compile.runtime.threads
          ? ` The opt-in threads entry (modelc/runtime/threads, bundled with the loadModel it uses; minified): ` +
            [["threads.js", compile.runtime.threads.main], ["threads-worker.js", compile.runtime.threads.worker]]
              .map(([n, t]) => (t.error ? `${n} not measured (${t.error})` : `${n} ${kb(t.bytes)} (${kb(t.gz)} gzip)`))
              .join(", ") + "."
          : ""),
      "",
    );
    lines.push("## `modelc export --onnx` of the examples in onnxruntime-node", "");
    lines.push("Random weights, 3 samples; max |onnxruntime - modelc| per output (and the output's largest magnitude):", "");
    lines.push(markdownTable(["example", "outputs"], r.extras.exports), "");
  }
  lines.push(`Whole run: ${r.seconds.toFixed(0)} s. Reproduce: \`npm ci && npm --prefix bench ci && npm run bench -- infer\`.`);
  return lines.join("\n");
}
