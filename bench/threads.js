// The `threads` suite: modelc on one thread (loadModel + Model.run) against modelc/runtime/threads with 2 threads
// (the caller runs one slice, one worker the other) and with 2 workers while the caller only coordinates, on the
// batched issue-5 workloads (MLP b64, CNN b64, GEMM 512³). Outputs must be byte-identical before any timing.
// Neighbours: bench/run.js (entry), bench/infer.js (the same workloads and weights), runtime/threads.ts.
// @ts-check

import { readdirSync, readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { fmt, markdownTable, parseArgs, percentile, randomInput } from "./lib.js";

const HERE = import.meta.dirname;
const ROOT = join(HERE, "..");
const dist = (/** @type {string} */ path) => new URL(`../dist/${path}`, import.meta.url).href;

export const THREADS_USAGE = `usage: node bench/run.js threads [options]

Batch data parallelism (modelc/runtime/threads): µs per call (input arrays to output arrays, wall clock) of modelc
on one thread vs 2 threads, on MLP 784-256-128-10 batch 64, CNN batch 64 and GEMM 512×512×512 (dense(512) at batch
512), weights: seeded init (seed 0, as the infer suite). Configurations run interleaved in one process, each round
at least --round-ms per configuration; medians and p90 over rounds. CPU per call counts every thread of the process.

options:
  --rounds N          timed rounds (default 15; --quick 5)
  --round-ms N        minimum milliseconds per configuration and round (default 150; --quick 60)
  --warmup-ms N       warm-up per configuration and workload (default 600; --quick 200)
  --threads N         threads of the threaded configurations (default 2)
  --workloads a,b     workload ids (default all: mlp-b64,cnn-b64,gemm)
  --quick             a fast look
  --out FILE          also write the markdown report to FILE`;

const WORKLOADS = [
  { id: "mlp-b64", label: "MLP 784-256-128-10, batch 64", model: "bench/models/mlp.model", batch: 64 },
  { id: "cnn-b64", label: "CNN, batch 64", model: "bench/models/cnn.model", batch: 64 },
  { id: "gemm", label: "GEMM 512×512×512 (dense(512) at batch 512)", model: "bench/models/gemm.model", batch: 512 },
];


/**
 * CPU clock ticks (user + system, 1/100 s) used so far by each thread of this process, by thread id, from
 * /proc/self/task/* /stat (Linux); an empty map elsewhere.
 * @returns {Map<string, number>}
 */
function threadTicks() {
  const out = new Map();
  try {
    for (const t of readdirSync("/proc/self/task")) {
      const st = readFileSync(`/proc/self/task/${t}/stat`, "utf8");
      const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
      out.set(t, Number(f[11]) + Number(f[12]));
    }
  } catch {
    out.clear();
  }
  return out;
}

/** @param {Float32Array | Int32Array} a */
const bytes = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** @param {string[]} argv */
export async function threadsSuite(argv) {
  const { options } = parseArgs(argv);
  if (options.help || options.h) {
    console.log(THREADS_USAGE);
    return;
  }
  const quick = options.quick === true;
  const rounds = Number(options.rounds ?? (quick ? 5 : 15));
  const roundMs = Number(options["round-ms"] ?? (quick ? 60 : 150));
  const warmupMs = Number(options["warmup-ms"] ?? (quick ? 200 : 600));
  const threads = Number(options.threads ?? 2);
  const ids = String(options.workloads ?? WORKLOADS.map((w) => w.id).join(",")).split(",");
  const { compile } = await import(dist("compiler/index.js"));
  const { loadModel } = await import(dist("runtime/index.js"));
  const { loadModelThreaded } = await import(dist("runtime/threads.js"));
  const load0 = loadavg();

  /** @type {{label: string, configs: {name: string, run: () => Promise<unknown> | unknown, close?: () => Promise<void>}[], startMs: number}[]} */
  const jobs = [];
  for (const w of WORKLOADS.filter((x) => ids.includes(x.id))) {
    const file = join(ROOT, w.model);
    const r = await compile(readFileSync(file, "utf8"), { file, simd: "simd" });
    if (!r.artifact) throw new Error(`${w.model}: ${r.diagnostics.map((/** @type {{message: string}} */ d) => d.message).join("; ")}`);
    const wasm = r.artifact.files.get(`${r.artifact.manifest.name}.wasm`);
    const one = await loadModel(wasm);
    const spec = one.inputs[0];
    const inputs = { [spec.name]: randomInput(spec.elementsPerSample * w.batch, 17 + w.batch) };
    const t0 = performance.now();
    const both = await loadModelThreaded(wasm, { threads });
    const startMs = performance.now() - t0;
    const workers = await loadModelThreaded(wasm, { threads, callerRuns: false });
    // outputs byte-identical before timing
    const want = one.run(inputs);
    for (const [name, t] of [[`${threads} threads`, both], [`${threads} workers`, workers]]) {
      const got = await t.run(inputs);
      for (const [o, a] of Object.entries(want))
        if (bytes(got[o]).compare(bytes(a)) !== 0) throw new Error(`${w.id}: output '${o}' with ${name} differs from one thread's`);
    }
    jobs.push({
      label: w.label,
      startMs,
      configs: [
        { name: "1 thread", run: () => one.run(inputs) },
        { name: `${threads} threads`, run: () => both.run(inputs), close: () => both.close() },
        { name: `${threads} workers, caller coordinates`, run: () => workers.run(inputs), close: () => workers.close() },
      ],
    });
  }
  console.log(`outputs byte-identical to one thread on ${jobs.length} workloads; timing ${rounds} rounds ...`);

  /** @type {Map<string, {wall: number[], cpu: number[], calls: number, ticks: Map<string, number>}>} */
  const times = new Map();
  for (const j of jobs) {
    for (const c of j.configs) {
      times.set(`${j.label}|${c.name}`, { wall: [], cpu: [], calls: 0, ticks: new Map() });
      const end = performance.now() + warmupMs;
      while (performance.now() < end) await c.run();
    }
  }
  for (let r = 0; r < rounds; r++) {
    for (const j of jobs) {
      const order = j.configs.map((_, i) => j.configs[(i + r) % j.configs.length]); // rotate who goes first
      for (const c of order) {
        let calls = 0;
        const k0 = threadTicks();
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        let t = t0;
        while (t - t0 < roundMs) {
          await c.run();
          calls++;
          t = performance.now();
        }
        const cpu = process.cpuUsage(c0);
        const k1 = threadTicks();
        const slot = /** @type {{wall: number[], cpu: number[], calls: number, ticks: Map<string, number>}} */ (times.get(`${j.label}|${c.name}`));
        slot.wall.push(((t - t0) * 1000) / calls);
        slot.cpu.push((cpu.user + cpu.system) / calls);
        slot.calls += calls;
        for (const [tid, v] of k1) slot.ticks.set(tid, (slot.ticks.get(tid) ?? 0) + v - (k0.get(tid) ?? v));
      }
    }
  }
  for (const j of jobs) for (const c of j.configs) await c.close?.();
  const load1 = loadavg();

  const rows = [];
  for (const j of jobs) {
    const base = /** @type {{wall: number[], cpu: number[], calls: number, ticks: Map<string, number>}} */ (times.get(`${j.label}|1 thread`));
    const b50 = percentile(base.wall, 50);
    const c50 = percentile(base.cpu, 50);
    for (const c of j.configs) {
      const t = /** @type {{wall: number[], cpu: number[], calls: number, ticks: Map<string, number>}} */ (times.get(`${j.label}|${c.name}`));
      const m = percentile(t.wall, 50);
      const cpu = percentile(t.cpu, 50);
      // the busiest thread's CPU per call: the wall time per call if every thread had a core of its own and
      // waiting cost nothing (a bound, not a measurement)
      const busiest = (Math.max(0, ...t.ticks.values()) * 1e4) / t.calls;
      const bound = t.ticks.size ? `${(c50 / busiest).toFixed(2)}×` : "—";
      rows.push([j.label, c.name, fmt(m), fmt(percentile(t.wall, 90)), `${(b50 / m).toFixed(2)}×`, fmt(cpu), `${(cpu / c50).toFixed(2)}×`, fmt(busiest), bound]);
    }
  }
  const report = [
    `# modelc threads: ${new Date().toISOString().slice(0, 10)}`,
    "",
    `Node ${process.versions.node}, ${cpus().length} logical cores (${cpus()[0]?.model ?? "?"}); load average ${load0[0].toFixed(2)} before, ${load1[0].toFixed(2)} after.`,
    `${rounds} interleaved rounds of at least ${roundMs} ms per configuration; µs per call (wall), speedup = 1 thread's median ÷ this median;`,
    "CPU = process CPU time per call, all threads (CPU ÷ 1 thread - 1 = the parallel overhead: wake-ups, copies, data moving between cores).",
    "Busiest thread = the CPU time per call of the process's busiest thread (Linux /proc, 10 ms ticks summed over all rounds): the wall time",
    "per call if each thread had an idle core and waking cost nothing; bound on idle cores = 1 thread's CPU ÷ that (an upper bound on the speedup,",
    "for when the machine is shared: under Linux autogroup scheduling a busy machine gives this process the same share whatever its thread count).",
    "",
    markdownTable(["workload", "configuration", "median µs", "p90 µs", "speedup", "CPU µs/call", "CPU ÷ 1 thread", "busiest thread µs/call", "bound on idle cores"], rows, [false, false, true, true, true, true, true, true, true]),
    "",
    `Worker start-up (${threads} threads; each worker instantiates the calling thread's compiled module): ${jobs.map((j) => `${j.label.split(",")[0]} ${fmt(j.startMs)} ms`).join(", ")}.`,
  ].join("\n");
  console.log("\n" + report);
  if (typeof options.out === "string") {
    const { writeFileAtomic } = await import(dist("compiler/io/atomic.js"));
    await writeFileAtomic(options.out, report + "\n");
    console.log(`\nwritten: ${options.out}`);
  }
}
