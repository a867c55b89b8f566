// Seeded image augmentation for NCHW f32 batches: integer shifts and small bilinear rotations.
// Neighbours: util/rng.ts (per-sample streams); data/batches.ts hands over the batch buffers and sample indices.

import { Xoshiro128, mixSeed } from "../util/rng.js";

/** Seed domain of augmentation streams (distinct from data/split.ts's). */
const DOMAIN_AUGMENT = 0xa067;

/** Options of ImageAugmenter. */
export interface AugmentOptions {
  /** User seed (u32); each sample's stream is seeded from (seed, epoch, sample index). */
  seed: number;
  /** Largest shift in whole pixels; dx and dy are drawn independently and uniformly from [-maxShift, maxShift]. Default 0 (no shift). */
  maxShift?: number;
  /** Largest rotation in degrees; the angle is uniform in [-maxRotation, maxRotation]. Default 0 (no rotation). */
  maxRotation?: number;
}

/** The transform drawn for one sample: shift in pixels (+x right, +y down) and rotation in degrees (counter-clockwise as displayed). */
export interface AugmentParams {
  dx: number;
  dy: number;
  degrees: number;
}

/**
 * Per-sample random shifts and rotations of NCHW f32 images, reproducible: the transform of a
 * sample depends only on (seed, epoch, dataset index of the sample), not on batch layout or order.
 * Draw order per sample: dx, dy (when maxShift > 0), then the angle (when maxRotation > 0).
 * Rotation is bilinear about the image centre ((W-1)/2, (H-1)/2), positive = counter-clockwise
 * as displayed (torchvision `rotate` convention), applied before the shift; uncovered pixels are 0.
 * Angle 0 takes an exact integer-shift path. No allocation per sample (one scratch image, one
 * reseeded PRNG). Errors (constructor): a shape that is not [C, H, W] of positive integers; a
 * negative or non-integer maxShift; a negative or non-finite maxRotation.
 */
export class ImageAugmenter {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  private readonly seed: number;
  private readonly maxShift: number;
  private readonly maxRotation: number;
  private readonly rng = new Xoshiro128(0);
  private readonly scratch: Float32Array;
  /** The last draw (see draw()). */
  private dx = 0;
  private dy = 0;
  private degrees = 0;

  constructor(imageShape: readonly number[], options: AugmentOptions) {
    if (imageShape.length !== 3 || !imageShape.every((d) => Number.isSafeInteger(d) && d > 0))
      throw new Error(`augment: image shape must be [C, H, W] of positive integers, got [${imageShape.join(", ")}]`);
    const maxShift = options.maxShift ?? 0;
    const maxRotation = options.maxRotation ?? 0;
    if (!Number.isSafeInteger(maxShift) || maxShift < 0) throw new Error(`augment: maxShift must be a non-negative integer (pixels), got ${maxShift}`);
    if (!Number.isFinite(maxRotation) || maxRotation < 0)
      throw new Error(`augment: maxRotation must be a non-negative number of degrees, got ${maxRotation}`);
    [this.channels, this.height, this.width] = imageShape as [number, number, number];
    this.seed = options.seed >>> 0;
    this.maxShift = maxShift;
    this.maxRotation = maxRotation;
    this.scratch = new Float32Array(this.channels * this.height * this.width);
  }

  /** Elements per image (C * H * W). */
  get imageSize(): number {
    return this.scratch.length;
  }

  /** The transform drawn for dataset sample `sample` in `epoch` (what augmentBatch applies to it). */
  params(sample: number, epoch: number): AugmentParams {
    this.draw(sample, epoch);
    return { dx: this.dx, dy: this.dy, degrees: this.degrees };
  }

  /**
   * Augment `count` images (default samples.length) of `images` in place: image j (elements
   * [j*C*H*W, (j+1)*C*H*W)) gets the transform of dataset sample `samples[j]` in `epoch`.
   * Copies each image to a scratch buffer first; augmentGather avoids that copy.
   * Errors: `images` shorter than count images.
   */
  augmentBatch(images: Float32Array, samples: ArrayLike<number>, epoch: number, count = samples.length): void {
    const size = this.scratch.length;
    if (images.length < count * size) throw new Error(`augment: ${images.length} elements hold fewer than ${count} images of ${size}`);
    if (this.maxShift === 0 && this.maxRotation === 0) return;
    const scratch = this.scratch;
    for (let j = 0; j < count; j++) {
      const off = j * size;
      for (let e = 0; e < size; e++) scratch[e] = images[off + e]!;
      this.apply(samples[j]!, epoch, scratch, 0, images, off);
    }
  }

  /**
   * Gather and augment in one pass: image j of `dst` becomes dataset image `samples[j]` of
   * `source` (a whole image field, e.g. `fieldOf(ds, "image").data`) under that sample's transform
   * in `epoch`. Use instead of batches() + augmentBatch for the image field to save two copies.
   * Errors: `dst` shorter than count images; a sample index outside `source`.
   */
  augmentGather(source: Float32Array, samples: ArrayLike<number>, epoch: number, dst: Float32Array, count = samples.length): void {
    const size = this.scratch.length;
    if (dst.length < count * size) throw new Error(`augment: ${dst.length} elements hold fewer than ${count} images of ${size}`);
    const n = Math.floor(source.length / size);
    for (let j = 0; j < count; j++) {
      const s = samples[j]!;
      if (!(s >= 0 && s < n)) throw new Error(`augment: samples[${j}] = ${s} is outside the ${n} source images`);
      this.apply(s, epoch, source, s * size, dst, j * size);
    }
  }

  /** Transform one image from src[srcOff..] into dst[dstOff..] with sample `sample`'s draw. */
  private apply(sample: number, epoch: number, src: Float32Array, srcOff: number, dst: Float32Array, dstOff: number): void {
    const { channels: c, height: h, width: w } = this;
    this.draw(sample, epoch);
    if (this.degrees === 0) shiftImage(src, srcOff, dst, dstOff, c, h, w, this.dx, this.dy);
    else rotateImage(src, srcOff, dst, dstOff, c, h, w, this.degrees, this.dx, this.dy);
  }

  private draw(sample: number, epoch: number): void {
    this.rng.reseed(mixSeed(DOMAIN_AUGMENT, this.seed, epoch, sample));
    const m = this.maxShift;
    // draw order: dx, dy (only when maxShift > 0), then the angle (only when maxRotation > 0)
    this.dx = m > 0 ? this.rng.nextBelow(2 * m + 1) - m : 0;
    this.dy = m > 0 ? this.rng.nextBelow(2 * m + 1) - m : 0;
    this.degrees = this.maxRotation > 0 ? (2 * this.rng.nextFloat() - 1) * this.maxRotation : 0;
  }
}

/**
 * Shift one C x H x W image by whole pixels: dst(c, y, x) = src(c, y - dy, x - dx), 0 where that
 * falls outside (so dx = 1 moves content one pixel right, dy = 1 one pixel down). `src` and `dst`
 * images start at `srcOff` / `dstOff` and must not overlap.
 */
export function shiftImage(
  src: Float32Array, srcOff: number, dst: Float32Array, dstOff: number,
  c: number, h: number, w: number, dx: number, dy: number,
): void {
  const x0 = Math.max(0, dx);
  const x1 = Math.min(w, w + dx);
  for (let ch = 0; ch < c; ch++) {
    const plane = ch * h * w;
    for (let y = 0; y < h; y++) {
      const row = dstOff + plane + y * w;
      const sy = y - dy;
      if (sy < 0 || sy >= h || x0 >= x1) {
        for (let x = 0; x < w; x++) dst[row + x] = 0;
        continue;
      }
      const srow = srcOff + plane + sy * w - dx;
      for (let x = 0; x < x0; x++) dst[row + x] = 0;
      for (let x = x0; x < x1; x++) dst[row + x] = src[srow + x]!;
      for (let x = x1; x < w; x++) dst[row + x] = 0;
    }
  }
}

/**
 * Rotate one C x H x W image by `degrees` (counter-clockwise as displayed) about its centre
 * ((W-1)/2, (H-1)/2) with bilinear interpolation, then shift by (dx, dy) pixels (default 0); every
 * output pixel samples the source at the inverse-mapped point, reading 0 outside the image.
 * `src` and `dst` must not overlap.
 */
export function rotateImage(
  src: Float32Array, srcOff: number, dst: Float32Array, dstOff: number,
  c: number, h: number, w: number, degrees: number, dx = 0, dy = 0,
): void {
  const t = (degrees * Math.PI) / 180;
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  const hw = h * w;
  for (let ch = 0; ch < c; ch++) rotatePlane(src, srcOff + ch * hw, dst, dstOff + ch * hw, h, w, cos, sin, dx, dy);
}

/** rotateImage for one H x W plane, given cos and sin of the angle. */
function rotatePlane(
  src: Float32Array, srcOff: number, dst: Float32Array, dstOff: number,
  h: number, w: number, cos: number, sin: number, dx: number, dy: number,
): void {
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  const wm1 = w - 1;
  const hm1 = h - 1;
  for (let y = 0; y < h; y++) {
    const qy = y - dy - cy;
    // source point of output x = 0; each step in x adds (cos, sin)
    let sx = cx + cos * (-dx - cx) - sin * qy;
    let sy = cy + sin * (-dx - cx) + cos * qy;
    const row = dstOff + y * w;
    for (let x = 0; x < w; x++, sx += cos, sy += sin) {
      if (sx >= 0 && sx < wm1 && sy >= 0 && sy < hm1) {
        // all four taps inside (the common case): truncation is floor for sx, sy >= 0
        const x0 = sx | 0;
        const y0 = sy | 0;
        const fx = sx - x0;
        const p = srcOff + y0 * w + x0;
        const top = src[p]! + fx * (src[p + 1]! - src[p]!);
        const bottom = src[p + w]! + fx * (src[p + w + 1]! - src[p + w]!);
        dst[row + x] = top + (sy - y0) * (bottom - top);
      } else if (sx > -1 && sx < w && sy > -1 && sy < h) {
        // border: the taps outside the image read 0
        const x0 = Math.floor(sx);
        const y0 = Math.floor(sy);
        const fx = sx - x0;
        const p = srcOff + y0 * w + x0;
        const inX0 = x0 >= 0;
        const inX1 = x0 < wm1;
        const v00 = y0 >= 0 && inX0 ? src[p]! : 0;
        const v01 = y0 >= 0 && inX1 ? src[p + 1]! : 0;
        const v10 = y0 < hm1 && inX0 ? src[p + w]! : 0;
        const v11 = y0 < hm1 && inX1 ? src[p + w + 1]! : 0;
        const top = v00 + fx * (v01 - v00);
        const bottom = v10 + fx * (v11 - v10);
        dst[row + x] = top + (sy - y0) * (bottom - top);
      } else dst[row + x] = 0;
    }
  }
}
