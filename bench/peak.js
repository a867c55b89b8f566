// Single-core wasm SIMD peak: independent f32x4 multiply-add chains (plain SIMD: f32x4.mul then f32x4.add; relaxed
// SIMD: f32x4.relaxed_madd), GFLOP/s. `node bench/peak.js [--relaxed] [--ms N]` prints one JSON line.
// Neighbours: bench/infer.js runs it (relaxed in a child with --experimental-wasm-relaxed-simd); binaryen from the root.
// @ts-check

import { parseArgs } from "./lib.js";

/** Independent accumulator chains: enough to hide the mul+add latency, few enough to stay in 16 xmm registers. */
const CHAINS = 12;
/** Unrolled steps per loop iteration (each step updates every chain once). */
const UNROLL = 4;

/**
 * The peak module in WAT: `run(n)` does n iterations of UNROLL x CHAINS chain updates a = a * m + c on f32x4 and
 * stores the sum of the chains (so nothing is dead). FLOPs per call = n * UNROLL * CHAINS * 8.
 * @param {boolean} relaxed
 */
function peakWat(relaxed) {
  const locals = Array.from({ length: CHAINS }, (_, i) => `(local $a${i} v128)`).join(" ");
  const init = Array.from({ length: CHAINS }, (_, i) => `(local.set $a${i} (f32x4.splat (f32.const ${(1 + i / 64).toFixed(4)})))`).join("\n");
  const step = Array.from({ length: CHAINS }, (_, i) =>
    relaxed
      ? `(local.set $a${i} (f32x4.relaxed_madd (local.get $a${i}) (local.get $m) (local.get $c)))`
      : `(local.set $a${i} (f32x4.add (f32x4.mul (local.get $a${i}) (local.get $m)) (local.get $c)))`,
  ).join("\n");
  let sum = "(local.get $a0)";
  for (let i = 1; i < CHAINS; i++) sum = `(f32x4.add ${sum} (local.get $a${i}))`;
  return `(module
  (memory (export "memory") 1)
  (func (export "run") (param $n i32) (local $m v128) (local $c v128) ${locals}
    (local.set $m (f32x4.splat (f32.const 0.9999)))
    (local.set $c (f32x4.splat (f32.const 0.0001)))
    ${init}
    (loop $L
      ${Array(UNROLL).fill(step).join("\n")}
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $L (i32.gt_s (local.get $n) (i32.const 0))))
    (v128.store (i32.const 0) ${sum})))`;
}

/**
 * The compiled peak module: `run(n)` does n iterations (see peakWat), `flopsPerIter` FLOPs each. Also used by
 * scripts/gemm-peak.ts --interleaved, so the GEMM is compared with exactly this loop.
 * @param {boolean} relaxed
 * @returns {Promise<{run: (n: number) => void, flopsPerIter: number}>}
 */
export async function peakRunner(relaxed) {
  const { default: binaryen } = await import("binaryen");
  const mod = binaryen.parseText(peakWat(relaxed));
  mod.setFeatures(binaryen.Features.All);
  if (!mod.validate()) throw new Error("peak module does not validate");
  const bytes = mod.emitBinary();
  mod.dispose();
  const { instance } = await WebAssembly.instantiate(bytes, {});
  return { run: /** @type {(n: number) => void} */ (instance.exports["run"]), flopsPerIter: UNROLL * CHAINS * 8 };
}

/**
 * Measure the peak over `rounds` timed calls of about `ms` milliseconds each (after a warm-up): median and best
 * GFLOP/s of wall time, and the median per CPU-second of this (single-threaded) process, which a loaded machine
 * disturbs much less than wall time.
 * @param {{relaxed?: boolean, ms?: number, rounds?: number}} [options]
 * @returns {Promise<{gflops: number, best: number, cpuGflops: number, relaxed: boolean}>}
 */
export async function measurePeak(options = {}) {
  const relaxed = options.relaxed ?? false;
  const { run, flopsPerIter } = await peakRunner(relaxed);
  // calibrate n to about `ms` per call
  let n = 1000;
  for (;;) {
    const t0 = performance.now();
    run(n);
    const dt = performance.now() - t0;
    if (dt > 20) {
      n = Math.max(1, Math.round((n * (options.ms ?? 50)) / dt));
      break;
    }
    n *= 4;
  }
  const rates = [];
  const cpuRates = [];
  for (let r = 0; r < (options.rounds ?? 9); r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    run(n);
    const wall = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    rates.push((n * flopsPerIter) / wall / 1e9);
    cpuRates.push((n * flopsPerIter) / ((c.user + c.system) / 1e6) / 1e9);
  }
  const mid = (/** @type {number[]} */ a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  return { gflops: mid(rates), best: Math.max(...rates), cpuGflops: mid(cpuRates), relaxed };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { options } = parseArgs(process.argv.slice(2));
  try {
    console.log(JSON.stringify(await measurePeak({ relaxed: options.relaxed === true, ms: Number(options.ms ?? 50) })));
  } catch (e) {
    console.log(JSON.stringify({ error: e instanceof Error ? e.message.split("\n")[0] : String(e) }));
  }
}
