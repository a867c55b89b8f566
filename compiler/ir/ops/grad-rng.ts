// The dropout mask's counter-based RNG: pure 32-bit integer hashing of (seed, step, salt, element index),
// no imports, so the float64 reference (ops/grad-norm.ts) and the wasm kernel can share and pin it bit for bit.

/** murmur3's 32-bit finalizer (a bijection on u32). */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The per-(seed, step, salt) key of the dropout RNG: mix32(mix32(mix32(salt ^ 0x9e3779b9) ^ seed) ^ step), u32
 * (the golden-ratio constant keeps (0, 0, 0) away from mix32's fixed point 0).
 * All arithmetic is 32-bit integer (Math.imul, xor, unsigned shifts), so wasm i32 ops reproduce it exactly.
 */
export function dropoutKey(seed: number, step: number, salt: number): number {
  return mix32(mix32(mix32((salt ^ 0x9e3779b9) >>> 0) ^ (seed >>> 0)) ^ (step >>> 0));
}

/** 24-bit uniform draw u = mix32(key ^ index) >>> 8 for element `index` (row-major over the whole batch tensor). */
export function dropoutDraw(key: number, index: number): number {
  return mix32((key ^ index) >>> 0) >>> 8;
}

/** Integer keep threshold T = ceil(p * 2^24) (computed in float64 at compile time); keep iff draw >= T. */
export function dropoutThreshold(p: number): number {
  return Math.min(2 ** 24, Math.ceil(p * 2 ** 24));
}
