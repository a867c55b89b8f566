// Seeded pseudo-random numbers shared by weight init and the data pipeline (xoshiro128**, seed mixing).
// Neighbours: weights/init.ts (per-tensor streams), data/split.ts (splits, epoch orders), data/augment.ts.

/**
 * xoshiro128** 1.1 (Blackman & Vigna, https://prng.di.unimi.it/xoshiro128starstar.c): 32-bit
 * outputs, period 2^128 - 1. The 128-bit state is filled from a 32-bit seed with splitmix32
 * (so seed 0 is fine and nearby seeds give unrelated streams). Pure integer arithmetic, so the
 * stream is bit-identical on every platform.
 */
export class Xoshiro128 {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  /** Seed with a u32 (other numbers are truncated with `>>> 0`). */
  constructor(seed: number) {
    this.reseed(seed);
  }

  /**
   * Restart the stream as `new Xoshiro128(seed)` would, without allocating (for per-sample
   * streams in hot loops, e.g. data/augment.ts).
   */
  reseed(seed: number): void {
    let x = seed >>> 0;
    x = (x + 0x9e3779b9) >>> 0;
    this.s0 = splitmixOut(x);
    x = (x + 0x9e3779b9) >>> 0;
    this.s1 = splitmixOut(x);
    x = (x + 0x9e3779b9) >>> 0;
    this.s2 = splitmixOut(x);
    x = (x + 0x9e3779b9) >>> 0;
    this.s3 = splitmixOut(x);
  }

  /** The 128-bit state as four words (s0..s3), e.g. to continue the stream in weights/uniform-fill.ts. */
  getState(): Int32Array {
    return new Int32Array([this.s0, this.s1, this.s2, this.s3]);
  }

  /** Continue from a state getState() gave (advanced elsewhere by the same algorithm). */
  setState(s: Int32Array): void {
    [this.s0, this.s1, this.s2, this.s3] = [s[0]!, s[1]!, s[2]!, s[3]!];
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

  /**
   * Uniform integer in [0, n) without modulo bias (Lemire's multiply-shift with rejection).
   * `n` must be an integer in [1, 2^32]; throws RangeError otherwise.
   */
  nextBelow(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 4294967296) throw new RangeError(`nextBelow: n must be an integer in [1, 2^32], got ${n}`);
    // Reject the lowest (2^32 mod n) values of the low word so every result is equally likely.
    const threshold = (4294967296 - n) % n;
    if (n <= 2097152) {
      // u32 * n < 2^53: the 64-bit product is exact in a double
      for (;;) {
        const m = this.nextU32() * n;
        if (m % 4294967296 >= threshold) return Math.floor(m / 4294967296);
      }
    }
    const limit = 4294967296 - threshold; // a multiple of n
    for (;;) {
      const r = this.nextU32();
      if (r < limit) return r % n;
    }
  }
}

function splitmixOut(x: number): number {
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
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
 * Combine up to four integers into one u32 seed (boost-style hash_combine, each step finished with
 * the murmur3 fmix32 avalanche), e.g. `mixSeed(DOMAIN, seed, epoch, sampleIndex)`. Arguments are
 * truncated to u32; missing ones count as 0, so callers should use a fixed arity per domain and a
 * distinct first argument per use. Fixed parameters (no rest array) keep it allocation-free.
 */
export function mixSeed(a: number, b = 0, c = 0, d = 0): number {
  let h = fmix32((a >>> 0) ^ 0x243f6a88);
  h = fmix32((h ^ ((b >>> 0) + 0x9e3779b9 + ((h << 6) >>> 0) + (h >>> 2))) >>> 0);
  h = fmix32((h ^ ((c >>> 0) + 0x9e3779b9 + ((h << 6) >>> 0) + (h >>> 2))) >>> 0);
  h = fmix32((h ^ ((d >>> 0) + 0x9e3779b9 + ((h << 6) >>> 0) + (h >>> 2))) >>> 0);
  return h;
}

function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
