// Seeded weight initialization: fills every param/state value from its InitSpec (PyTorch default
// initializers, chosen by the op table) when no weights are loaded. Neighbours: ir/ops/* set the
// InitSpec, weights/bind.ts is the alternative source of weights, index.ts picks one.

import type { Graph, InitSpec, WeightMap, WeightTensor } from "../ir/types.js";
import { numel, paramValues } from "../ir/graph.js";

/**
 * xoshiro128** 1.1 (Blackman & Vigna, https://prng.di.unimi.it/xoshiro128starstar.c): 32-bit
 * outputs, period 2^128 - 1. The 128-bit state is filled from a 32-bit seed with splitmix32
 * (so seed 0 is fine and nearby seeds give unrelated streams).
 */
export class Xoshiro128 {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** Next uniform u32. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 32 random bits. */
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** FNV-1a 32-bit hash of a string's UTF-16 code units (used to give each tensor its own stream). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}

/**
 * Fill `n` f32 values from an InitSpec with `rng`:
 * - uniform: low + (high - low) * u, u in [0, 1) (PyTorch kaiming_uniform_/uniform_ bounds are in the spec)
 * - normal: mean + std * z, z standard normal by Box–Muller (both outputs of each pair used)
 * - zeros / ones: constants (the rng is not used).
 */
export function sampleInit(spec: InitSpec, n: number, rng: Xoshiro128): Float32Array {
  const out = new Float32Array(n);
  switch (spec.kind) {
    case "zeros":
      return out;
    case "ones":
      return out.fill(1);
    case "uniform": {
      const w = spec.high - spec.low;
      for (let i = 0; i < n; i++) out[i] = spec.low + w * rng.nextFloat();
      return out;
    }
    case "normal": {
      for (let i = 0; i < n; i += 2) {
        const u1 = 1 - rng.nextFloat(); // (0, 1]: log is finite
        const u2 = rng.nextFloat();
        const r = Math.sqrt(-2 * Math.log(u1));
        out[i] = spec.mean + spec.std * r * Math.cos(2 * Math.PI * u2);
        if (i + 1 < n) out[i + 1] = spec.mean + spec.std * r * Math.sin(2 * Math.PI * u2);
      }
      return out;
    }
  }
}

/**
 * Initialize every param/state value of `graph` (by its state_dict `name`) from its `init` spec.
 * Each tensor gets its own xoshiro128** stream seeded with `seed ^ fnv1a(name)` (mixed by
 * splitmix32), so a tensor's values depend only on (seed, name, spec, shape): adding a layer does
 * not change the others. Same seed -> bit-identical weights on every platform.
 * Defaults: seed 0. Errors: a param without a name, init, or with a non-static shape (a lowering
 * bug, thrown as Error); duplicate names.
 */
export function initWeights(graph: Graph, seed = 0): WeightMap {
  const out: WeightMap = new Map();
  for (const v of paramValues(graph)) {
    if (v.name === undefined) throw new Error(`initWeights: ${v.kind} value ${v.id} has no name`);
    if (v.init === undefined) throw new Error(`initWeights: ${v.kind} '${v.name}' has no init spec`);
    if (out.has(v.name)) throw new Error(`initWeights: duplicate parameter name '${v.name}'`);
    const shape = v.type.shape.map((d) => {
      if (typeof d !== "number") throw new Error(`initWeights: '${v.name}' has a non-static shape`);
      return d;
    });
    const rng = new Xoshiro128((seed ^ fnv1a(v.name)) >>> 0);
    const t: WeightTensor = { shape, data: sampleInit(v.init, numel(shape), rng) };
    out.set(v.name, t);
  }
  return out;
}
