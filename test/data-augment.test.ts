// Tests of seeded image augmentation: exact shifts, rotation identities, reproducibility and speed.
// Neighbours: compiler/data/augment.ts; MNIST digits from compiler/data/mnist.ts.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ImageAugmenter, rotateImage, shiftImage } from "../compiler/data/augment.js";
import { loadMnist } from "../compiler/data/mnist.js";
import { readNpzDataset } from "../compiler/data/sources.js";

/** n x n image with distinct values 1..n*n, row-major. */
const ramp = (n: number, c = 1): Float32Array => Float32Array.from({ length: c * n * n }, (_, i) => i + 1);

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe("shiftImage", () => {
  it("shift by (1, 0) moves every pixel one column right, zero fill", () => {
    const src = ramp(3); // rows [1 2 3] [4 5 6] [7 8 9]
    const dst = new Float32Array(9).fill(-1);
    shiftImage(src, 0, dst, 0, 1, 3, 3, 1, 0);
    expect([...dst]).toEqual([0, 1, 2, 0, 4, 5, 0, 7, 8]);
    shiftImage(src, 0, dst, 0, 1, 3, 3, 0, -1);
    expect([...dst]).toEqual([4, 5, 6, 7, 8, 9, 0, 0, 0]);
    shiftImage(src, 0, dst, 0, 1, 3, 3, -2, 1);
    expect([...dst]).toEqual([0, 0, 0, 3, 0, 0, 6, 0, 0]);
    shiftImage(src, 0, dst, 0, 1, 3, 3, 5, 0);
    expect([...dst]).toEqual(new Array(9).fill(0));
  });

  it("works per channel at offsets", () => {
    const src = new Float32Array([99, ...ramp(2, 2)]); // offset 1, two 2x2 channels
    const dst = new Float32Array(10).fill(-1);
    shiftImage(src, 1, dst, 2, 2, 2, 2, 0, 1);
    expect([...dst]).toEqual([-1, -1, 0, 0, 1, 2, 0, 0, 5, 6]);
  });
});

describe("rotateImage", () => {
  it("rotation by 0 is the identity, and with a shift equals shiftImage", () => {
    const src = ramp(5, 2);
    const dst = new Float32Array(50);
    rotateImage(src, 0, dst, 0, 2, 5, 5, 0);
    expect(dst).toEqual(src);
    const viaShift = new Float32Array(50);
    shiftImage(src, 0, viaShift, 0, 2, 5, 5, 1, -2);
    rotateImage(src, 0, dst, 0, 2, 5, 5, 0, 1, -2);
    expect(dst).toEqual(viaShift);
  });

  it("rotation by +90 degrees is np.rot90 (counter-clockwise), -90 its inverse", () => {
    for (const n of [4, 5]) {
      const src = ramp(n);
      const ccw = Float32Array.from({ length: n * n }, (_, k) => src[(k % n) * n + (n - 1 - Math.floor(k / n))]!); // out[i][j] = a[j][n-1-i]
      const cw = Float32Array.from({ length: n * n }, (_, k) => src[(n - 1 - (k % n)) * n + Math.floor(k / n)]!); // out[i][j] = a[n-1-j][i]
      const dst = new Float32Array(n * n);
      rotateImage(src, 0, dst, 0, 1, n, n, 90);
      expect(maxAbsDiff(dst, ccw)).toBeLessThan(1e-6 * n * n);
      rotateImage(src, 0, dst, 0, 1, n, n, -90);
      expect(maxAbsDiff(dst, cw)).toBeLessThan(1e-6 * n * n);
      rotateImage(src, 0, dst, 0, 1, n, n, 180);
      expect(maxAbsDiff(dst, src.slice().reverse())).toBeLessThan(1e-6 * n * n);
    }
    // asymmetric: a single bright pixel right of centre ends up above it
    const one = new Float32Array(9);
    one[1 * 3 + 2] = 1;
    const out = new Float32Array(9);
    rotateImage(one, 0, out, 0, 1, 3, 3, 90);
    expect(out[0 * 3 + 1]).toBeCloseTo(1, 6);
    expect(out.reduce((a, b) => a + Math.abs(b), 0)).toBeCloseTo(1, 6);
  });

  it("bilinear halfway: 45 degrees of a centred point spreads over the grid as expected", () => {
    // a point at the centre of a 3x3 image stays there under any rotation
    const c = new Float32Array(9);
    c[4] = 1;
    const out = new Float32Array(9);
    rotateImage(c, 0, out, 0, 1, 3, 3, 45);
    expect(out[4]).toBeCloseTo(1, 6);
    // the corner pixel (0, 0) is sampled at distance sqrt(2) along an axis from the centre: 1 - sqrt(2) + 1 interpolation
    const ones = new Float32Array(9).fill(1);
    rotateImage(ones, 0, out, 0, 1, 3, 3, 45);
    expect(out[4]).toBeCloseTo(1, 6);
    expect(out[1]).toBeCloseTo(1, 6); // edge midpoints map inside the image
    expect(out[0]).toBeCloseTo(2 - Math.SQRT2, 6); // corner maps to (1 - sqrt2, 1): weight 2 - sqrt2 on an inside pixel
  });

  it("matches PyTorch grid_sample (bilinear, zeros, align_corners=False) on a 2x9x12 image", () => {
    const bytes = readFileSync("test/fixtures/data/rotate_golden.npz");
    const image = readNpzDataset(bytes, { fields: ["image"] }).fields.image!.data as Float32Array;
    const golden = readNpzDataset(bytes, { fields: ["params", "out"] });
    const params = golden.fields.params!.data;
    expect(golden.count).toBe(5);
    const size = 2 * 9 * 12;
    const out = new Float32Array(size);
    for (let k = 0; k < golden.count; k++) {
      const [deg, dx, dy] = [params[3 * k]!, params[3 * k + 1]!, params[3 * k + 2]!];
      rotateImage(image, 0, out, 0, 2, 9, 12, deg, dx, dy);
      expect(maxAbsDiff(out, golden.fields.out!.data.subarray(k * size, (k + 1) * size) as Float32Array)).toBeLessThan(1e-5);
    }
  });

  it("small rotations roughly conserve the pixel mass of MNIST digits", () => {
    const m = loadMnist();
    const n = 200;
    const out = new Float32Array(784);
    for (const deg of [-10, 5, 15]) {
      let before = 0;
      let after = 0;
      for (let i = 0; i < n; i++) {
        rotateImage(m.images, i * 784, out, 0, 1, 28, 28, deg);
        for (let k = 0; k < 784; k++) (before += m.images[i * 784 + k]!), (after += out[k]!);
      }
      expect(Math.abs(after / before - 1)).toBeLessThan(0.02);
    }
  });
});

describe("ImageAugmenter", () => {
  const m = loadMnist();
  const batchOf = (samples: number[]): Float32Array => {
    const b = new Float32Array(samples.length * 784);
    samples.forEach((s, j) => b.set(m.images.subarray(s * 784, (s + 1) * 784), j * 784));
    return b;
  };

  it("same (seed, epoch, sample) -> identical output, independent of batch position", () => {
    const aug = new ImageAugmenter([1, 28, 28], { seed: 11, maxShift: 2, maxRotation: 15 });
    const a = batchOf([3, 8, 5]);
    aug.augmentBatch(a, [3, 8, 5], 4);
    const b = batchOf([5, 3]);
    new ImageAugmenter([1, 28, 28], { seed: 11, maxShift: 2, maxRotation: 15 }).augmentBatch(b, [5, 3], 4);
    expect(b.subarray(0, 784)).toEqual(a.subarray(2 * 784));
    expect(b.subarray(784)).toEqual(a.subarray(0, 784));
    expect(maxAbsDiff(a.subarray(0, 784), m.images.subarray(3 * 784, 4 * 784))).toBeGreaterThan(0.1);
    const other = batchOf([3]);
    new ImageAugmenter([1, 28, 28], { seed: 12, maxShift: 2, maxRotation: 15 }).augmentBatch(other, [3], 4);
    expect(other).not.toEqual(a.subarray(0, 784));
    const nextEpoch = batchOf([3]);
    aug.augmentBatch(nextEpoch, [3], 5);
    expect(nextEpoch).not.toEqual(a.subarray(0, 784));
  });

  it("applies exactly the drawn transform; shifts cover [-maxShift, maxShift], angles stay in range", () => {
    const aug = new ImageAugmenter([1, 28, 28], { seed: 1, maxShift: 2, maxRotation: 10 });
    const p = aug.params(7, 0);
    const got = batchOf([7]);
    aug.augmentBatch(got, [7], 0);
    const want = new Float32Array(784);
    rotateImage(m.images, 7 * 784, want, 0, 1, 28, 28, p.degrees, p.dx, p.dy);
    expect(got).toEqual(want);
    const dxs = new Set<number>();
    for (let s = 0; s < 500; s++) {
      const q = aug.params(s, 3);
      dxs.add(q.dx);
      expect(Math.abs(q.dy)).toBeLessThanOrEqual(2);
      expect(Math.abs(q.degrees)).toBeLessThanOrEqual(10);
    }
    expect([...dxs].sort()).toEqual([-1, -2, 0, 1, 2].sort());
    // shifts only: the exact integer path
    const shiftOnly = new ImageAugmenter([1, 28, 28], { seed: 1, maxShift: 3 });
    const q = shiftOnly.params(9, 0);
    expect(q.degrees).toBe(0);
    const s9 = batchOf([9]);
    shiftOnly.augmentBatch(s9, [9], 0);
    const w9 = new Float32Array(784);
    shiftImage(m.images, 9 * 784, w9, 0, 1, 28, 28, q.dx, q.dy);
    expect(s9).toEqual(w9);
  });

  it("augmentGather equals gather + augmentBatch", () => {
    const aug = new ImageAugmenter([1, 28, 28], { seed: 5, maxShift: 1, maxRotation: 12 });
    const samples = [42, 7, 42];
    const inPlace = batchOf(samples);
    aug.augmentBatch(inPlace, samples, 2);
    const gathered = new Float32Array(3 * 784);
    aug.augmentGather(m.images, samples, 2, gathered);
    expect(gathered).toEqual(inPlace);
    expect(() => aug.augmentGather(m.images, [m.count], 0, gathered)).toThrow(`augment: samples[0] = ${m.count} is outside the ${m.count} source images`);
  });

  it("is fast: a few microseconds per 28x28 image (about 3x a plain copy)", () => {
    const aug = new ImageAugmenter([1, 28, 28], { seed: 0, maxShift: 2, maxRotation: 15 });
    const n = 2000;
    const samples = Int32Array.from({ length: n }, (_, i) => i);
    const dst = new Float32Array(n * 784);
    const cpuMicros = (f: () => void): number => {
      const c = process.cpuUsage();
      f();
      const u = process.cpuUsage(c);
      return u.user + u.system;
    };
    aug.augmentGather(m.images, samples, 0, dst); // warm up the JIT
    // CPU time against a plain copy of the same images, so a busy machine does not fail the test
    const copy = cpuMicros(() => {
      for (let e = 0; e < 3; e++) for (let i = 0; i < n * 784; i++) dst[i] = m.images[i]!;
    });
    const augment = cpuMicros(() => {
      for (let e = 1; e <= 3; e++) aug.augmentGather(m.images, samples, e, dst);
    });
    expect(augment / copy).toBeLessThan(10);
    expect(augment / (3 * n)).toBeLessThan(200); // µs per image; typically 2-5 on an idle machine
  });

  it("rejects bad shapes and options", () => {
    expect(() => new ImageAugmenter([28, 28], { seed: 0 })).toThrow("augment: image shape must be [C, H, W]");
    expect(() => new ImageAugmenter([1, 28, 28], { seed: 0, maxShift: 1.5 })).toThrow("maxShift must be a non-negative integer");
    expect(() => new ImageAugmenter([1, 28, 28], { seed: 0, maxRotation: -1 })).toThrow("maxRotation must be a non-negative number");
    expect(() => new ImageAugmenter([1, 28, 28], { seed: 0 }).augmentBatch(new Float32Array(784), [0, 1], 0)).toThrow(
      "augment: 784 elements hold fewer than 2 images of 784",
    );
  });
});
