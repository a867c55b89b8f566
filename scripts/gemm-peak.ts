// Single-core wasm SIMD peak (independent f32x4 mul+add chains) and modelc's GEMM 512x512x512 as a fraction
// of it: `node dist/scripts/gemm-peak.js [--size 512] [--rounds 7]`; relaxed-SIMD FMA:
// `node --experimental-wasm-relaxed-simd dist/scripts/gemm-peak.js --relaxed`; `--interleaved`: peak (as
// bench/peak.js measures it) and GEMM rounds alternate in one process (use this on a shared machine). Neighbours: backend/wasm/module.ts (builds the peak module), compiler/index.ts (compiles the GEMM model); bench/ reuses measurePeak/measureGemm.

import { ModuleBuilder, type Expr, type Local } from "../compiler/backend/wasm/module.js";
import { emitWasm } from "../compiler/backend/wasm/emit.js";
import { check } from "../compiler/index.js";
import { optimizeGraph } from "../compiler/passes/pipeline.js";
import { initWeights } from "../compiler/weights/init.js";

/**
 * One timing over `rounds` rounds: median and best wall-clock microseconds per call, median CPU-time
 * microseconds per call (user + system of this process: close to an idle machine's wall time when the
 * machine is shared), and GFLOP/s at the wall and CPU medians.
 */
export interface Timing {
  medianUs: number;
  minUs: number;
  cpuUs: number;
  gflops: number;
  cpuGflops: number;
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

/** Wall and CPU microseconds per call of `fn`, repeated for at least `minMs` (one round). */
function timeRound(fn: () => void, minMs: number): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  let t: number;
  do {
    fn();
    n++;
    t = performance.now() - t0;
  } while (t < minMs);
  const c = process.cpuUsage(c0);
  return { wall: (t / n) * 1000, cpu: (c.user + c.system) / n };
}

/** Time `fn` (3 warm-up calls, then `rounds` rounds of >= `minMs`); `flops` per call. */
export function timing(fn: () => void, flops: number, rounds: number, minMs: number): Timing {
  for (let i = 0; i < 3; i++) fn();
  const r = Array.from({ length: rounds }, () => timeRound(fn, minMs));
  const wall = median(r.map((x) => x.wall));
  const cpu = median(r.map((x) => x.cpu));
  return { medianUs: wall, minUs: Math.min(...r.map((x) => x.wall)), cpuUs: cpu, gflops: flops / wall / 1e3, cpuGflops: flops / cpu / 1e3 };
}

/**
 * The peak module: `peak(iters)` runs `chains` independent f32x4 chains acc = acc * m + c (one mul and one
 * add, 8 flops per chain and iteration) `iters` times; m and c are loaded from memory so nothing folds.
 * Built without binaryen's optimizer (the loop is already minimal).
 */
async function peakModule(chains: number, relaxed: boolean): Promise<(iters: number) => void> {
  const mb = new ModuleBuilder(true, relaxed);
  const f = mb.fn(1);
  const v = f.v;
  const acc: Local[] = Array.from({ length: chains }, () => f.local(v.type));
  const [m, c] = [f.local(v.type), f.local(v.type)];
  const i = f.local();
  const init: Expr[] = [f.set(m, v.load(f.i(16))), f.set(c, v.load(f.i(32)))];
  acc.forEach((a, k) => init.push(f.set(a, v.load(f.i(48 + 16 * k)))));
  const body = acc.map((a) => f.set(a, v.madd(f.get(a), f.get(m), f.get(c))));
  let sum = f.get(acc[0]!);
  for (const a of acc.slice(1)) sum = v.add(sum, f.get(a));
  mb.addFunction("peak", f, 1, [...init, f.forRange(i, f.i(0), f.get(f.param(0)), body), v.store(f.i(1024), sum)], "peak");
  const wasm = mb.finish({ initialPages: 1, segments: [], optimize: false });
  const instance = await WebAssembly.instantiate(await WebAssembly.compile(wasm as Uint8Array<ArrayBuffer>));
  const mem = new Float32Array((instance.exports["memory"] as WebAssembly.Memory).buffer);
  mem.fill(0.999, 4, 8); // m: |m| < 1 keeps the chains finite
  mem.fill(1e-3, 8, 12);
  return instance.exports["peak"] as (iters: number) => void;
}

/**
 * Peak: the best over 8, 10 and 12 chains (x86 has 16 xmm registers; more chains spill). `relaxed`: the chains
 * use f32x4.relaxed_madd (Node 20: run with --experimental-wasm-relaxed-simd).
 */
export async function measurePeak(rounds = 7, relaxed = false): Promise<Timing & { chains: number }> {
  const iters = 1 << 20;
  let best: (Timing & { chains: number }) | undefined;
  for (const chains of [8, 10, 12]) {
    const peak = await peakModule(chains, relaxed);
    const t = timing(() => peak(iters), iters * chains * 8, rounds, 100);
    if (!best || t.gflops > best.gflops) best = { ...t, chains };
  }
  return best!;
}

/**
 * modelc's GEMM: a `dense(size, bias=false)` model with constant (seeded) weights on a [size, size] input
 * batch, the SIMD module (what compile() emits; `relaxed`: with relaxed-SIMD FMA) run through its `run(batch)`
 * directly (no runtime copies). 2 * size^3 flops per call.
 */
export async function measureGemm(size = 512, rounds = 7, relaxed = false): Promise<Timing> {
  return timing(await gemmRunner(size, relaxed), 2 * size ** 3, rounds, 300);
}

/** The `run(size)` closure measureGemm times (see there); the input batch is filled, nothing else is done. */
async function gemmRunner(size: number, relaxed: boolean): Promise<() => void> {
  const src = `model gemm {\n  input x: f32[${size}]\n  output y = x -> fc: dense(${size}, bias=false)\n}\n`;
  const c = check(src, "gemm.model");
  if (!c.graph) throw new Error(`gemm-peak: the GEMM model did not compile: ${c.diagnostics.map((d) => d.message).join("; ")}`);
  const g = optimizeGraph(c.graph, { mode: "infer" });
  const m = emitWasm(g, initWeights(g, 0), { simd: true, embedWeights: true, relaxed });
  const wasm = m.wasm;
  // Asynchronous compilation, as runtime/load.ts does: V8 then tiers the hot code up to TurboFan (a module
  // compiled synchronously with `new WebAssembly.Module` can stay on the baseline compiler, about 7x slower here).
  const instance = await WebAssembly.instantiate(await WebAssembly.compile(wasm as Uint8Array<ArrayBuffer>));
  const memory = instance.exports["memory"] as WebAssembly.Memory;
  const run = instance.exports["run"] as (batch: number) => void;
  const need = m.memory.activationBase + m.memory.bytesPerSample * size;
  if (need > memory.buffer.byteLength) memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
  const x = new Float32Array(memory.buffer, m.memory.activationBase + m.inputs[0]!.offsetPerSample * size, size * size);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37);
  return () => run(size);
}

/**
 * The GEMM against the peak measured as bench/peak.js does (12 chains, 4 steps per iteration), interleaved: each
 * round times the peak (>= 100 ms) then the GEMM (>= 300 ms) by CPU time, so both see the same machine load;
 * prints the medians and the median of the per-round ratios.
 */
async function interleaved(size: number, rounds: number, relaxed: boolean): Promise<void> {
  // bench/peak.js itself (from dist/scripts: two levels up), so the loop is exactly the one bench/infer.js reports.
  const bench = (await import(new URL("../../bench/peak.js", import.meta.url).href)) as {
    peakRunner(relaxed: boolean): Promise<{ run(n: number): void; flopsPerIter: number }>;
  };
  const { run, flopsPerIter } = await bench.peakRunner(relaxed);
  const iters = 1 << 16;
  const peak = (n: number): void => run(n);
  const peakFlops = iters * flopsPerIter;
  const gemm = await gemmRunner(size, relaxed);
  for (let i = 0; i < 3; i++) {
    peak(iters);
    gemm();
  }
  const p: number[] = [];
  const g: number[] = [];
  for (let r = 0; r < rounds; r++) {
    p.push(peakFlops / timeRound(() => peak(iters), 100).cpu / 1e3);
    g.push((2 * size ** 3) / timeRound(gemm, 300).cpu / 1e3);
  }
  const ratio = median(g.map((x, i) => x / p[i]!));
  const kind = relaxed ? "relaxed-SIMD f32x4.relaxed_madd" : "f32x4 mul+add";
  console.log(
    `interleaved, ${rounds} rounds, CPU time: peak (bench/peak.js kernel: 12 ${kind} chains x 4) ${median(p).toFixed(1)} GFLOP/s, ` +
      `modelc GEMM ${size}^3 ${median(g).toFixed(1)} GFLOP/s; median per-round ratio ${(100 * ratio).toFixed(0)}%`,
  );
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const arg = (k: string, d: number): number => {
    const i = argv.indexOf(k);
    return i >= 0 ? Number(argv[i + 1]) : d;
  };
  const size = arg("--size", 512);
  const rounds = arg("--rounds", 7);
  const relaxed = argv.includes("--relaxed");
  if (argv.includes("--interleaved")) return interleaved(size, rounds, relaxed);
  const peak = await measurePeak(rounds, relaxed);
  const gemm = await measureGemm(size, rounds, relaxed);
  const peak2 = await measurePeak(rounds, relaxed);
  const p = peak.gflops > peak2.gflops ? peak : peak2;
  const pct = (a: number, b: number): string => `${((100 * a) / b).toFixed(0)}%`;
  const kind = relaxed ? "relaxed-SIMD f32x4.relaxed_madd" : "f32x4 mul+add";
  console.log(`wasm SIMD peak (${p.chains} ${kind} chains): ${p.gflops.toFixed(1)} GFLOP/s wall, ${p.cpuGflops.toFixed(1)} GFLOP/s CPU time`);
  console.log(
    `modelc GEMM ${size}^3${relaxed ? " (relaxed FMA)" : ""}: median ${gemm.medianUs.toFixed(0)} us (best ${gemm.minUs.toFixed(0)} us, CPU ${gemm.cpuUs.toFixed(0)} us), ` +
      `${gemm.gflops.toFixed(1)} GFLOP/s wall = ${pct(gemm.gflops, p.gflops)} of peak, ${gemm.cpuGflops.toFixed(1)} GFLOP/s CPU = ${pct(gemm.cpuGflops, p.cpuGflops)}`,
  );
}

if (process.argv[1]?.endsWith("gemm-peak.js")) await main();
