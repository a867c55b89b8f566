// Seeded dataset splits (train/validation/test, optionally stratified) and per-epoch sample orders.
// Neighbours: util/rng.ts (xoshiro128**, mixSeed); data/dataset.ts (selectSamples); data/batches.ts walks the orders.

import { Xoshiro128, mixSeed } from "../util/rng.js";
import { type Dataset, fieldOf, sampleSize, selectSamples, shapeText } from "./dataset.js";

/** A split that does not fit the data (sizes, fractions, counts): a user error, reported without a stack. */
export class SplitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SplitError";
  }
}

/** Seed domains, so a split and epoch 0's order never share a stream for the same user seed. */
const DOMAIN_SPLIT = 0x5b11;
const DOMAIN_EPOCH = 0xe90c;

/**
 * Part sizes, either all fractions of the dataset (every value in [0, 1], sum <= 1) or all sample
 * counts (non-negative integers, at least one > 1, sum <= count). Omitted parts are empty.
 * Fractions become counts by largest remainder, so fractions summing to 1 cover every sample
 * (0.8/0.1/0.1 of 10,000 is exactly 8,000/1,000/1,000).
 */
export interface SplitSizes {
  train?: number;
  validation?: number;
  test?: number;
}

/** Options of splitDataset. */
export interface SplitOptions {
  /**
   * Name of an i32 class-id field (per-sample shape [] or [1]). When set, every class is spread
   * over the parts in proportion to its size (within one sample per class and part); use
   * argmaxField first for one-hot labels. Default: no stratification.
   */
  stratify?: string;
}

/** A split: the three part datasets and the sorted source indices each was taken from. */
export interface Split {
  train: Dataset;
  validation: Dataset;
  test: Dataset;
  indices: { train: Int32Array; validation: Int32Array; test: Int32Array };
}

const PARTS = ["train", "validation", "test"] as const;

/**
 * Turn SplitSizes into integer counts [train, validation, test] for `count` samples.
 * Errors: a negative or non-finite size, fractions summing to more than 1, counts that are not
 * integers or sum to more than `count`.
 */
export function splitCounts(count: number, sizes: SplitSizes): [number, number, number] {
  const v = PARTS.map((p) => sizes[p] ?? 0);
  if (v.some((x) => !Number.isFinite(x) || x < 0)) throw new SplitError(`split: sizes must be non-negative numbers, got ${JSON.stringify(sizes)}`);
  const total = v[0]! + v[1]! + v[2]!;
  if (v.every((x) => x <= 1)) {
    if (total > 1 + 1e-9) throw new SplitError(`split: fractions sum to ${total}, more than 1`);
    const exact = v.map((f) => f * count);
    const out = exact.map((x) => Math.floor(x + 1e-9));
    let rest = Math.min(count, Math.round(total * count)) - out.reduce((a, b) => a + b, 0);
    const order = [0, 1, 2].sort((a, b) => exact[b]! - out[b]! - (exact[a]! - out[a]!) || a - b);
    for (const i of order) if (rest > 0 && exact[i]! > out[i]!) (out[i]!++, rest--);
    return out as [number, number, number];
  }
  if (!v.every(Number.isInteger)) throw new SplitError(`split: sizes above 1 are sample counts and must all be integers, got ${JSON.stringify(sizes)}`);
  if (total > count) throw new SplitError(`split: counts sum to ${total}, more than the ${count} samples`);
  return v as [number, number, number];
}

/**
 * Split `ds` into disjoint train/validation/test datasets, deterministically from `seed` (u32):
 * the same (dataset size, sizes, seed, stratify labels) always gives the same indices, on every
 * platform. Without stratification the samples are permuted (Fisher–Yates, xoshiro128**) and cut in
 * order; with `stratify`, each class is permuted and the classes are interleaved in proportion
 * before cutting. Each part keeps source order (indices sorted ascending); shuffle per epoch with
 * epochOrder. Errors: see splitCounts; a stratify field that is missing (fieldOf's message), not
 * i32, or not one value per sample.
 */
export function splitDataset(ds: Dataset, sizes: SplitSizes, seed: number, options: SplitOptions = {}): Split {
  const [nTrain, nVal, nTest] = splitCounts(ds.count, sizes);
  const rng = new Xoshiro128(mixSeed(DOMAIN_SPLIT, seed));
  const order = options.stratify === undefined ? permutation(ds.count, rng) : stratifiedOrder(ds, options.stratify, rng);
  const cut = (a: number, b: number): Int32Array => order.slice(a, b).sort();
  const indices = { train: cut(0, nTrain), validation: cut(nTrain, nTrain + nVal), test: cut(nTrain + nVal, nTrain + nVal + nTest) };
  return {
    train: selectSamples(ds, indices.train),
    validation: selectSamples(ds, indices.validation),
    test: selectSamples(ds, indices.test),
    indices,
  };
}

/**
 * The sample order of one epoch: a permutation of 0..count-1 (Fisher–Yates with xoshiro128**
 * seeded from mixSeed(domain, seed, epoch)), identical run to run; different epochs or seeds give
 * unrelated orders. Writes into `out` when given (length >= count; no allocation) and returns the
 * first `count` entries of it. Errors: count not a non-negative integer; `out` too short.
 */
export function epochOrder(count: number, seed: number, epoch: number, out?: Int32Array): Int32Array {
  if (!Number.isSafeInteger(count) || count < 0) throw new Error(`epochOrder: count must be a non-negative integer, got ${count}`);
  if (out !== undefined && out.length < count) throw new Error(`epochOrder: out has ${out.length} entries, needs ${count}`);
  const order = out === undefined ? new Int32Array(count) : out.length === count ? out : out.subarray(0, count);
  for (let i = 0; i < count; i++) order[i] = i;
  shuffleInPlace(order, new Xoshiro128(mixSeed(DOMAIN_EPOCH, seed, epoch)));
  return order;
}

/** Fisher–Yates (Durstenfeld) shuffle of `a` in place with `rng`. */
export function shuffleInPlace(a: Int32Array, rng: Xoshiro128): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.nextBelow(i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}

function permutation(n: number, rng: Xoshiro128): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  shuffleInPlace(p, rng);
  return p;
}

/**
 * All indices, each class shuffled, then merged so every prefix is class-proportional: the r-th
 * (0-based) sample of a class of size m gets key (r + u) / m with u uniform in [0, 1) per class,
 * and samples are sorted by key (ties by class). A prefix of length L then holds round(L * m / N)
 * of each class, within one.
 */
function stratifiedOrder(ds: Dataset, name: string, rng: Xoshiro128): Int32Array {
  const f = fieldOf(ds, name);
  if (f.dtype !== "i32" || sampleSize(f) !== 1)
    throw new Error(
      `split: stratify field '${name}' must be i32 with one class id per sample, got ${f.dtype} ${shapeText(f.shape)} ` +
        "(use argmaxField for one-hot labels)",
    );
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < ds.count; i++) {
    const c = f.data[i]!;
    let list = byClass.get(c);
    if (list === undefined) byClass.set(c, (list = []));
    list.push(i);
  }
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const keyed: { key: number; cls: number; index: number }[] = [];
  for (const c of classes) {
    const members = Int32Array.from(byClass.get(c)!);
    shuffleInPlace(members, rng);
    const u = rng.nextFloat();
    for (let r = 0; r < members.length; r++) keyed.push({ key: (r + u) / members.length, cls: c, index: members[r]! });
  }
  keyed.sort((a, b) => a.key - b.key || a.cls - b.cls);
  return Int32Array.from(keyed, (k) => k.index);
}
