// Counter-based standard normal numbers for random_normal and reparameterize_train: two 24-bit draws of
// the dropout hash (grad-rng.ts) -> Box-Muller. Neighbours: ops/cvae.ts (references), kernels/cvae.ts (wasm).

import { dropoutDraw, dropoutKey } from "./grad-rng.js";

/** Salt of random_normal's per-sample key: dropoutKey(seed, 0, RANDOM_NORMAL_SALT) ("NORM"). */
export const RANDOM_NORMAL_SALT = 0x4e4f524d;

/**
 * Base salt of reparameterize_train: the k-th reparameterize node (graph order) uses salt
 * REPARAM_SALT_BASE + k, so its stream never meets a dropout layer's (salts 0, 1, ...).
 */
export const REPARAM_SALT_BASE = 0x52500000;

/** 2^-24: one step of a 24-bit draw. */
const STEP = 1 / 16777216;

/**
 * Box-Muller from two 24-bit integer draws d1, d2 in [0, 2^24):
 * sqrt(-2 ln u1) cos(2 pi u2) with u1 = (d1 + 1) 2^-24 in (0, 1] and u2 = d2 2^-24 in [0, 1).
 * |result| <= sqrt(48 ln 2) ~ 5.77. Float64; the wasm kernel evaluates the same formula in f64.
 */
export function boxMuller(d1: number, d2: number): number {
  return Math.sqrt(-2 * Math.log((d1 + 1) * STEP)) * Math.cos(2 * Math.PI * d2 * STEP);
}

/**
 * Standard normal number `index` of the stream `key` (a u32 from dropoutKey): Box-Muller of the draws
 * at counters 2 index and 2 index + 1. Pure integer hashing + float64, so reference and wasm agree.
 */
export function normalAt(key: number, index: number): number {
  return boxMuller(dropoutDraw(key, 2 * index), dropoutDraw(key, 2 * index + 1));
}

/** The key of one random_normal row: dropoutKey(seed, 0, RANDOM_NORMAL_SALT) for an i32 seed. */
export function randomNormalKey(seed: number): number {
  return dropoutKey(seed | 0, 0, RANDOM_NORMAL_SALT);
}
