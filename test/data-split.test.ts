// Tests of seeded splits, epoch orders and batching on MNIST's 10,000 digits and small datasets.
// Neighbours: compiler/data/{split,batches}.ts; compiler/util/rng.ts supplies the streams.

import { beforeAll, describe, expect, it } from "vitest";
import { type Dataset, makeDataset } from "../compiler/data/dataset.js";
import { batches, BatchBuffers } from "../compiler/data/batches.js";
import { mnistDataset } from "../compiler/data/mnist.js";
import { epochOrder, splitCounts, splitDataset } from "../compiler/data/split.js";
import { Xoshiro128, mixSeed } from "../compiler/util/rng.js";

let mnist: Dataset;
beforeAll(() => {
  mnist = mnistDataset();
});

function classCounts(labels: Int32Array | Float32Array): number[] {
  const c = new Array<number>(10).fill(0);
  for (const v of labels) c[v]!++;
  return c;
}

describe("splitDataset", () => {
  it("8,000/1,000/1,000 of MNIST: disjoint, covering, sizes, fields follow the indices", () => {
    const s = splitDataset(mnist, { train: 0.8, validation: 0.1, test: 0.1 }, 42);
    expect([s.train.count, s.validation.count, s.test.count]).toEqual([8000, 1000, 1000]);
    const seen = new Uint8Array(10000);
    for (const part of [s.indices.train, s.indices.validation, s.indices.test]) {
      for (let i = 1; i < part.length; i++) expect(part[i]! > part[i - 1]!).toBe(true);
      for (const i of part) seen[i]!++;
    }
    expect(seen.every((v) => v === 1)).toBe(true);
    const j = s.indices.test[17]!;
    expect(s.test.fields.label!.data[17]).toBe(mnist.fields.label!.data[j]);
    expect([...s.test.fields.image!.data.subarray(17 * 784, 18 * 784)]).toEqual([...mnist.fields.image!.data.subarray(j * 784, (j + 1) * 784)]);
  });

  it("is deterministic per seed and differs across seeds", () => {
    const a = splitDataset(mnist, { train: 0.8, validation: 0.1, test: 0.1 }, 7);
    const b = splitDataset(mnist, { train: 0.8, validation: 0.1, test: 0.1 }, 7);
    const c = splitDataset(mnist, { train: 0.8, validation: 0.1, test: 0.1 }, 8);
    expect(b.indices.test).toEqual(a.indices.test);
    expect(b.indices.validation).toEqual(a.indices.validation);
    expect(c.indices.test).not.toEqual(a.indices.test);
    // pinned: a change of PRNG, seed mixing or shuffle shows up here
    const small = makeDataset({ y: { dtype: "i32", shape: [], data: Int32Array.from({ length: 10 }, (_, i) => i) } });
    const p = splitDataset(small, { train: 6, validation: 2, test: 2 }, 1).indices;
    expect([[...p.train], [...p.validation], [...p.test]]).toEqual([[0, 1, 2, 7, 8, 9], [4, 5], [3, 6]]);
    expect([...epochOrder(10, 1, 0)]).toEqual([0, 9, 1, 7, 6, 2, 4, 5, 3, 8]);
  });

  it("stratified parts are class-balanced within one sample per class", () => {
    const all = classCounts(mnist.fields.label!.data);
    const s = splitDataset(mnist, { train: 0.8, validation: 0.1, test: 0.1 }, 3, { stratify: "label" });
    expect([s.train.count, s.validation.count, s.test.count]).toEqual([8000, 1000, 1000]);
    for (const [part, frac] of [[s.train, 0.8], [s.validation, 0.1], [s.test, 0.1]] as const) {
      const got = classCounts(part.fields.label!.data);
      got.forEach((n, k) => expect(Math.abs(n - all[k]! * frac)).toBeLessThanOrEqual(1.5));
    }
    // unstratified validation sets drift further from the class shares
    const plain = classCounts(splitDataset(mnist, { train: 0.8, validation: 0.1, test: 0.1 }, 3).validation.fields.label!.data);
    const dev = plain.reduce((m, n, k) => Math.max(m, Math.abs(n - all[k]! * 0.1)), 0);
    expect(dev).toBeGreaterThan(1.5);
  });

  it("sizes: fractions, counts, omitted parts, errors", () => {
    expect(splitCounts(10, { train: 0.7, test: 0.3 })).toEqual([7, 0, 3]);
    expect(splitCounts(10, { train: 1 / 3, validation: 1 / 3, test: 1 / 3 })).toEqual([4, 3, 3]);
    expect(splitCounts(10, { train: 0.5 })).toEqual([5, 0, 0]);
    expect(splitCounts(100, { train: 60, validation: 20 })).toEqual([60, 20, 0]);
    expect(() => splitCounts(10, { train: 0.8, test: 0.3 })).toThrow("split: fractions sum to 1.1");
    expect(() => splitCounts(10, { train: 8, test: 3 })).toThrow("split: counts sum to 11, more than the 10 samples");
    expect(() => splitCounts(10, { train: 8, test: 0.5 })).toThrow("must all be integers");
    expect(() => splitDataset(mnist, { train: 0.5 }, 0, { stratify: "image" })).toThrow("stratify field 'image' must be i32");
    expect(() => splitDataset(mnist, { train: 0.5 }, 0, { stratify: "digit" })).toThrow(
      "no field 'digit'; available: image f32 [1, 28, 28], label i32 []",
    );
  });
});

describe("epochOrder", () => {
  it("is a seeded permutation, identical run to run, new per epoch and seed", () => {
    const a = epochOrder(1000, 5, 0);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(epochOrder(1000, 5, 0)).toEqual(a);
    expect(epochOrder(1000, 5, 1)).not.toEqual(a);
    expect(epochOrder(1000, 6, 0)).not.toEqual(a);
    const out = new Int32Array(1000);
    expect(epochOrder(1000, 5, 0, out)).toBe(out);
    expect(out).toEqual(a);
  });

  it("is Fisher–Yates with xoshiro128** seeded from (seed, epoch)", () => {
    // independent re-statement of the algorithm: the order is pinned to the documented construction
    const rng = new Xoshiro128(mixSeed(0xe90c, 9, 2));
    const p = Int32Array.from({ length: 20 }, (_, i) => i);
    for (let i = 19; i > 0; i--) {
      const j = rng.nextBelow(i + 1);
      [p[i], p[j]] = [p[j]!, p[i]!];
    }
    expect(epochOrder(20, 9, 2)).toEqual(p);
  });

  it("positions are roughly uniform", () => {
    // where sample 0 lands over 2,000 epochs of 10 samples: each position about 200 times
    const hist = new Array<number>(10).fill(0);
    for (let e = 0; e < 2000; e++) hist[epochOrder(10, 1, e).indexOf(0)]!++;
    for (const h of hist) expect(Math.abs(h - 200)).toBeLessThan(60);
  });
});

describe("batches", () => {
  const ds = makeDataset({
    x: { dtype: "f32", shape: [2], data: Float32Array.from({ length: 14 }, (_, i) => i) },
    y: { dtype: "i32", shape: [], data: Int32Array.from({ length: 7 }, (_, i) => 100 + i) },
  });
  const order = Int32Array.from([6, 0, 5, 1, 4, 2, 3]);

  it("gathers samples in order, last batch short unless dropLast", () => {
    const got: { batch: number; start: number; x: number[]; y: number[]; samples: number[] }[] = [];
    for (const b of batches(ds, order, 3))
      got.push({ batch: b.batch, start: b.start, x: [...b.fields.x!], y: [...b.fields.y!], samples: [...b.samples] });
    expect(got).toEqual([
      { batch: 3, start: 0, x: [12, 13, 0, 1, 10, 11], y: [106, 100, 105], samples: [6, 0, 5] },
      { batch: 3, start: 3, x: [2, 3, 8, 9, 4, 5], y: [101, 104, 102], samples: [1, 4, 2] },
      { batch: 1, start: 6, x: [6, 7], y: [103], samples: [3] },
    ]);
    const indices: number[] = [];
    for (const b of batches(ds, order, 3, { dropLast: true })) indices.push(b.index);
    expect(indices).toEqual([0, 1]);
    for (const b of batches(ds, order, 7, { fields: ["y"] })) expect(Object.keys(b.fields)).toEqual(["y"]);
    // the Batch object is reused: collecting it keeps only the last state
    const all = [...batches(ds, order, 3)];
    expect(all[0]).toBe(all[2]);
  });

  it("reuses its buffers across batches and epochs", () => {
    const buffers = new BatchBuffers(ds, 2);
    const seen = new Set<unknown>();
    for (let epoch = 0; epoch < 3; epoch++)
      for (const b of batches(ds, epochOrder(7, 0, epoch), 2, { buffers })) {
        seen.add(b.fields.x);
        seen.add(b.samples);
      }
    expect(seen.size).toBe(4); // full buffers + one tail view each, for all epochs
    expect(() => [...batches(ds, order, 3, { buffers })]).toThrow("the given buffers are for batch size 2");
    expect(() => [...batches(ds, Int32Array.from([0, 7]), 2)]).toThrow("batches: order[1] = 7 is outside the dataset [0, 7)");
    expect(() => new BatchBuffers(ds, 0)).toThrow("batchSize must be a positive integer");
    // the same buffers serve another dataset of the same layout, and refuse a different layout
    const other = makeDataset({
      x: { dtype: "f32", shape: [2], data: new Float32Array([-1, -2, -3, -4]) },
      y: { dtype: "i32", shape: [], data: new Int32Array([5, 6]) },
    });
    const buf3 = new BatchBuffers(ds, 2);
    for (const b of batches(other, Int32Array.from([1, 0]), 2, { buffers: buf3 }))
      expect([...b.fields.x!, ...b.fields.y!]).toEqual([-3, -4, -1, -2, 6, 5]);
    const wide = makeDataset({ x: { dtype: "f32", shape: [3], data: new Float32Array(3) }, y: { dtype: "i32", shape: [], data: new Int32Array(1) } });
    expect(() => [...batches(wide, Int32Array.from([0]), 2, { buffers: buf3 })]).toThrow(
      "batches: field 'x' is f32 [3], but the buffers hold f32 [2]",
    );
  });
});

describe("pipeline (data/index.ts)", () => {
  it("split -> epoch order -> batches -> augmentation: each training sample once per epoch, labels aligned", async () => {
    const data = await import("../compiler/data/index.js");
    const { train } = data.splitDataset(mnist, { train: 0.8, validation: 0.1, test: 0.1 }, 1, { stratify: "label" });
    const images = data.fieldOf(train, "image").data as Float32Array;
    const aug = new data.ImageAugmenter([1, 28, 28], { seed: 1, maxShift: 1 });
    const buffers = new data.BatchBuffers(train, 500, ["label"]);
    const augmented = new Float32Array(500 * 784);
    for (let epoch = 0; epoch < 2; epoch++) {
      const seen = new Uint8Array(train.count);
      let n = 0;
      for (const b of data.batches(train, data.epochOrder(train.count, 1, epoch), 500, { fields: ["label"], buffers })) {
        aug.augmentGather(images, b.samples, epoch, augmented, b.batch);
        for (let j = 0; j < b.batch; j++) {
          const s = b.samples[j]!;
          seen[s]!++;
          expect(b.fields.label![j]).toBe(train.fields.label!.data[s]);
        }
        n += b.batch;
      }
      expect(n).toBe(8000);
      expect(seen.every((v) => v === 1)).toBe(true);
    }
  });
});

describe("util/rng additions", () => {
  it("reseed restarts like a new generator; nextBelow stays in range and is roughly uniform", () => {
    const r = new Xoshiro128(3);
    const first = [r.nextU32(), r.nextU32()];
    r.reseed(3);
    expect([r.nextU32(), r.nextU32()]).toEqual(first);
    for (const n of [1, 7, 2097153, 3_000_000_000, 4294967296]) {
      for (let i = 0; i < 200; i++) {
        const v = r.nextBelow(n);
        expect(Number.isInteger(v) && v >= 0 && v < n).toBe(true);
      }
    }
    const hist = new Array<number>(6).fill(0);
    for (let i = 0; i < 60000; i++) hist[r.nextBelow(6)]!++;
    for (const h of hist) expect(Math.abs(h - 10000)).toBeLessThan(400);
    expect(() => r.nextBelow(0)).toThrow("nextBelow: n must be an integer in [1, 2^32], got 0");
  });

  it("mixSeed separates its arguments", () => {
    const seeds = new Set<number>();
    for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) for (let c = 0; c < 4; c++) seeds.add(mixSeed(a, b, c));
    expect(seeds.size).toBe(64);
    expect(mixSeed(1, 2)).toBe(mixSeed(1, 2, 0, 0));
    expect(mixSeed(1, 2)).not.toBe(mixSeed(2, 1));
  });
});
