// The `train` suite: training samples/s of the MNIST CNN (and MLP) in modelc's wasm trainer, TensorFlow.js (cpu and
// wasm backends) and PyTorch CPU at one thread, with warm-up and interleaved timed rounds. Neighbours: bench/run.js
// dispatches here; bench/engines/* run one engine each in its own process; bench/lib.js (protocol, stats, tables).
// @ts-check

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { EngineProcess, fmt, markdownTable, parseArgs, percentile } from "./lib.js";

export const TRAIN_USAGE = `usage: node bench/run.js train [options]

Training throughput (samples/s, batch 64, Adam lr 1e-3, softmax cross-entropy, dropout on) of
dsl-examples/mnist-cnn.model (and mnist-mlp.model) on the first N digits of the mnist package, in:
  modelc     the wasm training module (createWasmTrainBackend over buildTrainingGraph, from dist/)
  tfjs-cpu   @tensorflow/tfjs, cpu backend (plain JS kernels; slow on the CNN: few steps)
  tfjs-wasm  @tensorflow/tfjs-backend-wasm, 1 thread (cannot train a conv net: no Conv2DBackpropFilter kernel)
  torch      PyTorch CPU, torch.set_num_threads(1), via python3 (skipped when 'import torch' fails)
Each engine runs in its own process and is warmed up; then timed rounds are interleaved (A B C A B C ...).

options:
  --models cnn,mlp        which models (default cnn,mlp)
  --engines LIST          default modelc,tfjs-cpu,tfjs-wasm,torch; also torch-system (torch with the system's
                          libraries even when --torch-lib-path / out/openblas applies to torch)
  --rounds N              timed rounds per engine (default 5; slow engines get fewer, see --budget)
  --round-seconds S       a round runs whole steps for at least S seconds (default 1)
  --budget S              at most about S seconds of timed rounds per engine and model (default 40)
  --samples N             the first N digits, cycled in batches (default 1024)
  --batch N               batch size (default 64)
  --quick                 --rounds 3 --round-seconds 0.5 --budget 15
  --modelc-backend KIND   wasm (default) | reference (the float64 interpreter; for testing the plumbing)
  --no-simd               modelc's scalar wasm build
  --json FILE             also write every round's numbers as JSON
  --torch-lib-path DIR    prepend DIR to the torch engine's LD_LIBRARY_PATH (e.g. an OpenBLAS libblas.so.3);
                          default: out/openblas from bench/openblas.sh when unpacked, else none; "none": the
                          system's libraries. The report names the BLAS torch loaded: Debian's torch with netlib's
                          reference BLAS runs nn.Linear several times slower than with OpenBLAS.
Environment: MODELC_BENCH_PYTHON (default /usr/bin/python3 when present, else python3),
MODELC_BENCH_TORCH_LIB_PATH (as --torch-lib-path).`;

const HERE = fileURLToPath(new URL(".", import.meta.url));
const ROOT = join(HERE, "..");
const MODEL_FILES = { cnn: "dsl-examples/mnist-cnn.model", mlp: "dsl-examples/mnist-mlp.model" };
const ENGINES = ["modelc", "tfjs-cpu", "tfjs-wasm", "torch"];
/** Engines run only when asked for by --engines. */
const EXTRA_ENGINES = ["torch-system"];

/** @typedef {{seconds: number, cpuSeconds: number, samples: number, loss: number}} Round */
/**
 * @typedef {{name: string, proc?: EngineProcess, info?: Record<string, any>, failed?: string, stepSeconds?: number,
 *   stepsPerRound?: number, plannedRounds?: number, rounds: Round[], warmup?: Round[]}} EngineRun
 */

/** The python interpreter for the PyTorch engine. */
function pythonCommand() {
  if (process.env.MODELC_BENCH_PYTHON) return process.env.MODELC_BENCH_PYTHON;
  return existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

/** Where bench/openblas.sh unpacks OpenBLAS. */
const OPENBLAS_DIR = join(ROOT, "out", "openblas", "usr", "lib", "x86_64-linux-gnu", "openblas-pthread");

/**
 * The torch engine's extra library path: `given` ("none" for the system's libraries), else bench/openblas.sh's
 * OpenBLAS when it has been unpacked, else none. @param {string | undefined} given
 */
function torchLibPath(given) {
  if (given === "none") return undefined;
  if (given !== undefined) {
    if (!existsSync(given)) throw new Error(`--torch-lib-path ${given}: no such directory`);
    return given;
  }
  return existsSync(join(OPENBLAS_DIR, "libblas.so.3")) ? OPENBLAS_DIR : undefined;
}

/** @type {Map<string, string | undefined>} */
const torchChecks = new Map();

/** Why PyTorch cannot be used, or undefined when `python -c "import torch"` works (checked once). @param {string} python */
function torchMissing(python) {
  if (!torchChecks.has(python)) torchChecks.set(python, checkTorch(python));
  return torchChecks.get(python);
}

/** @param {string} python */
function checkTorch(python) {
  try {
    execFileSync(python, ["-c", "import torch"], { stdio: ["ignore", "ignore", "pipe"], timeout: 60_000 });
    return undefined;
  } catch (e) {
    const err = /** @type {{stderr?: Buffer, message: string}} */ (e);
    const last = String(err.stderr ?? "").trim().split("\n").pop();
    return `${python} -c "import torch" failed: ${last || err.message}`;
  }
}

/** Write the first `n` digits (loadMnist order) as raw files for the engines; returns the directory. @param {number} n */
async function writeData(n) {
  const url = new URL("../dist/compiler/data/mnist.js", import.meta.url);
  if (!existsSync(fileURLToPath(url))) throw new Error("dist/compiler/data/mnist.js is missing: run npm run build (npm run bench does)");
  const { loadMnist } = await import(url.href);
  const m = loadMnist();
  if (n > m.count) throw new Error(`--samples ${n}: the mnist package has only ${m.count} digits`);
  const dir = mkdtempSync(join(tmpdir(), "modelc-bench-"));
  writeFileSync(join(dir, "images.f32"), new Uint8Array(m.images.buffer, 0, n * 784 * 4));
  writeFileSync(join(dir, "labels.i32"), new Uint8Array(m.labels.buffer, 0, n * 4));
  return dir;
}

/**
 * Spawn one engine process. @param {string} name @param {string} python
 * @returns {EngineProcess}
 */
function spawnEngine(name, /** @type {any} */ config, python) {
  const json = JSON.stringify(config);
  switch (name) {
    case "modelc":
      return new EngineProcess(name, process.execPath, [join(HERE, "engines", "modelc.js"), json]);
    case "tfjs-cpu":
      return new EngineProcess(name, process.execPath, [join(HERE, "engines", "tfjs.js"), "cpu", json]);
    case "tfjs-wasm":
      return new EngineProcess(name, process.execPath, [join(HERE, "engines", "tfjs.js"), "wasm", json]);
    case "torch":
    case "torch-system": {
      const lib = name === "torch" ? config.torchLibPath : undefined;
      return new EngineProcess(name, python, [join(HERE, "engines", "torch_engine.py"), json], {
        OMP_NUM_THREADS: "1", MKL_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1",
        ...(lib ? { LD_LIBRARY_PATH: [lib, process.env.LD_LIBRARY_PATH].filter(Boolean).join(":") } : {}),
      });
    }
    default:
      throw new Error(`unknown engine '${name}' (${[...ENGINES, ...EXTRA_ENGINES].join(", ")})`);
  }
}

/** A short, one-line reason from an engine error (module-not-found gets the install hint). @param {string} name @param {string} error */
function reason(name, error) {
  if (/Cannot find (package|module) '@tensorflow/.test(error)) return `${error.split("\n")[0]} — install the peers with: npm --prefix bench ci`;
  if (name === "modelc") return `not available yet (${error.split("\n")[0]})`;
  return error;
}

/** Warm up: whole-batch steps until at least 3 steps and 1 s, stopping after 1 step when a step takes > 5 s. @param {EngineRun} e */
async function warmUp(e) {
  /** @type {Round[]} */
  const steps = [];
  let total = 0;
  while (steps.length < 20) {
    const r = await /** @type {EngineProcess} */ (e.proc).request({ cmd: "warmup", steps: 1 });
    if (r.error) throw new Error(r.error);
    steps.push(r);
    total += r.seconds;
    if (r.seconds > 5 || (steps.length >= 3 && total >= 1)) break;
  }
  e.warmup = steps;
  e.stepSeconds = steps[steps.length - 1].seconds;
}

/**
 * Run the suite for one model. Every engine is started (in parallel), then warmed up one after another, then the timed
 * rounds are interleaved: in cycle r an engine planned for k of R rounds runs when ⌊(r+1)k/R⌋ > ⌊rk/R⌋, so a slow
 * engine's few rounds are spread over the run rather than bunched at its start.
 * @param {"cnn" | "mlp"} model @param {string[]} engines @param {Record<string, any>} opts @param {string} dataDir
 * @returns {Promise<EngineRun[]>}
 */
async function runModel(model, engines, opts, dataDir) {
  const config = {
    model, modelFile: join(ROOT, MODEL_FILES[model]), batch: opts.batch, samples: opts.samples, data: dataDir,
    lr: 1e-3, seed: 0, backend: opts.modelcBackend, simd: opts.simd, threads: 1, torchLibPath: opts.torchLibPath,
  };
  const python = pythonCommand();
  /** @type {EngineRun[]} */
  const runs = engines.map((name) => ({ name, rounds: [] }));
  for (const e of runs) {
    if (e.name.startsWith("torch")) {
      const missing = torchMissing(python);
      if (missing) {
        e.failed = `skipped (${missing})`;
        continue;
      }
    }
    e.proc = spawnEngine(e.name, config, python);
  }
  await Promise.all(
    runs.map(async (e) => {
      if (!e.proc) return;
      const msg = await e.proc.next();
      if (msg.error) e.failed = reason(e.name, msg.error);
      else e.info = msg.info;
    }),
  );
  for (const e of runs) {
    if (e.failed || !e.proc) continue;
    process.stderr.write(`  ${model}: warming up ${e.name} ...`);
    try {
      await warmUp(e);
      process.stderr.write(` ${fmt(opts.batch / /** @type {number} */ (e.stepSeconds))} samples/s\n`);
    } catch (err) {
      e.failed = `cannot train it: ${/** @type {Error} */ (err).message.split("\n")[0]}`;
      process.stderr.write(" failed\n");
    }
  }
  const live = runs.filter((e) => !e.failed);
  for (const e of live) {
    const step = /** @type {number} */ (e.stepSeconds);
    e.stepsPerRound = Math.max(1, Math.round(opts.roundSeconds / step));
    e.plannedRounds = Math.min(opts.rounds, Math.max(1, Math.floor(opts.budget / (e.stepsPerRound * step))));
  }
  for (let r = 0; r < opts.rounds; r++) {
    for (const e of live) {
      const k = /** @type {number} */ (e.plannedRounds);
      if (e.failed || Math.floor(((r + 1) * k) / opts.rounds) === Math.floor((r * k) / opts.rounds)) continue;
      const res = await /** @type {EngineProcess} */ (e.proc).request({ cmd: "round", steps: e.stepsPerRound });
      if (res.error) e.failed = `failed in round ${e.rounds.length + 1}: ${res.error}`;
      else e.rounds.push(res);
    }
    process.stderr.write(`  ${model}: round ${r + 1}/${opts.rounds} done\n`);
  }
  await Promise.all(runs.map((e) => e.proc?.close()));
  return runs;
}

/**
 * Median and slow-tail (p90 of round time) samples/s of a run, and the median samples per CPU-second (the engine
 * process's CPU time: on a loaded machine it estimates the idle machine's samples/s better than wall time does).
 * @param {EngineRun} e
 */
function throughput(e) {
  const rates = e.rounds.map((r) => r.samples / r.seconds);
  const perSample = e.rounds.map((r) => r.seconds / r.samples);
  const perCpu = e.rounds.map((r) => r.samples / r.cpuSeconds);
  return { median: percentile(rates, 50), p90: 1 / percentile(perSample, 90), cpu: percentile(perCpu, 50) };
}

/** The markdown report of one model's runs. @param {"cnn" | "mlp"} model @param {EngineRun[]} runs @param {Record<string, any>} opts */
function report(model, runs, opts) {
  const modelc = runs.find((e) => e.name === "modelc" && !e.failed && e.rounds.length > 0);
  const base = modelc ? throughput(modelc) : undefined;
  const rows = [];
  const notes = [];
  for (const e of runs) {
    if (e.name === "torch" && /netlib/.test(String(e.info?.backend)))
      notes.push("- torch: its BLAS is netlib's unoptimized reference (Debian's libblas.so.3), which slows nn.Linear several times; `bash bench/openblas.sh` unpacks OpenBLAS (no system change) and later runs use it");
    if (e.failed || e.rounds.length === 0) {
      notes.push(`- ${e.name}: ${e.failed ?? "no timed round"}`);
      continue;
    }
    const t = throughput(e);
    const info = e.info ?? {};
    rows.push([
      e.name, String(info.version ?? ""), String(info.backend ?? ""), String(info.threads ?? ""),
      `${e.rounds.length} × ${e.stepsPerRound}`, fmt(t.median), fmt(t.p90), fmt(t.cpu),
      e === modelc ? "1" : base ? `${fmt(base.median / t.median)}×` : "—",
      e === modelc ? "1" : base ? `${fmt(base.cpu / t.cpu)}×` : "—",
      e.rounds[e.rounds.length - 1].loss.toFixed(3),
    ]);
  }
  const title = `### ${MODEL_FILES[model]} — training, batch ${opts.batch}, Adam lr 1e-3, first ${opts.samples} digits`;
  const table = markdownTable(
    ["engine", "version", "backend", "threads", "rounds × steps", "median samples/s", "p90 samples/s", "samples/CPU-s",
      "modelc ÷ engine", "÷ (CPU)", "last loss"],
    rows,
    [false, false, false, true, true, true, true, true, true, true, true],
  );
  return [title, "", table, "", ...(notes.length ? [...notes, ""] : [])].join("\n");
}

/** Run the `train` suite with command-line `argv` (after the suite name); prints markdown to stdout. @param {string[]} argv */
export async function trainSuite(argv) {
  const { options } = parseArgs(argv);
  if (options.help) {
    console.log(TRAIN_USAGE);
    return;
  }
  const num = (/** @type {string} */ key, /** @type {number} */ def) => {
    const v = options[key];
    if (v === undefined) return def;
    const x = Number(v);
    if (!Number.isFinite(x) || x <= 0) throw new Error(`--${key} needs a positive number, got ${v}`);
    return x;
  };
  const quick = options.quick === true;
  const opts = {
    rounds: Math.round(num("rounds", quick ? 3 : 5)),
    roundSeconds: num("round-seconds", quick ? 0.5 : 1),
    budget: num("budget", quick ? 15 : 40),
    samples: Math.round(num("samples", 1024)),
    batch: Math.round(num("batch", 64)),
    modelcBackend: options["modelc-backend"] === "reference" ? "reference" : "wasm",
    simd: options["no-simd"] !== true,
    torchLibPath: torchLibPath(typeof options["torch-lib-path"] === "string" ? options["torch-lib-path"] : process.env.MODELC_BENCH_TORCH_LIB_PATH),
  };
  if (opts.samples < opts.batch) throw new Error(`--samples ${opts.samples} is less than one batch of ${opts.batch}`);
  const models = String(options.models ?? "cnn,mlp").split(",").filter(Boolean);
  for (const m of models) if (!(m in MODEL_FILES)) throw new Error(`unknown model '${m}' (cnn, mlp)`);
  const engines = String(options.engines ?? ENGINES.join(",")).split(",").filter(Boolean);
  for (const e of engines) if (![...ENGINES, ...EXTRA_ENGINES].includes(e)) throw new Error(`unknown engine '${e}' (${[...ENGINES, ...EXTRA_ENGINES].join(", ")})`);

  const started = performance.now();
  const loadBefore = loadavg()[0];
  const dataDir = await writeData(opts.samples);
  /** @type {Record<string, EngineRun[]>} */
  const all = {};
  const sections = [];
  try {
    for (const m of /** @type {("cnn" | "mlp")[]} */ (models)) {
      all[m] = await runModel(m, engines, opts, dataDir);
      sections.push(report(m, all[m], opts));
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  console.log(
    [
      `## Training throughput (bench/run.js train)`,
      "",
      `${cpu}, ${cpus().length} cores; Node ${process.version}; load average ${loadBefore.toFixed(2)} before, ` +
        `${loadavg()[0].toFixed(2)} after; ${seconds.toFixed(0)} s in all.`,
      "Each engine in its own process, warmed up, then timed rounds interleaved (A B C A B C ...); a round is whole",
      `training steps (forward, loss, backward, Adam update) for at least ${opts.roundSeconds} s. median = median over rounds;`,
      "p90 = samples/s at the 90th-percentile round time (90% of rounds were at least this fast). samples/CPU-s = median",
      "samples per second of the engine process's CPU time (closer to an idle machine's samples/s when the load is high);",
      "modelc ÷ engine = ratio of the medians (wall time), ÷ (CPU) = ratio of samples/CPU-s.",
      "",
      ...sections,
    ].join("\n"),
  );
  if (typeof options.json === "string")
    writeFileSync(options.json, JSON.stringify({ options: opts, loadBefore, loadAfter: loadavg()[0], seconds, models: Object.fromEntries(Object.entries(all).map(([m, runs]) => [m, runs.map((e) => ({ name: e.name, info: e.info, failed: e.failed, stepsPerRound: e.stepsPerRound, warmup: e.warmup, rounds: e.rounds }))])) }, null, 1));
}
