// A PNG grid of images (CVAE samples: one row per class) encoded with pngjs. Neighbours: cli/sample.ts
// (modelc sample), scripts/cvae-check.ts; io/atomic.ts writes the bytes.

import { PNG } from "pngjs";

/** Layout of a grid of equally sized images. */
export interface GridLayout {
  rows: number;
  cols: number;
  /** Image height and width in pixels. */
  height: number;
  width: number;
  /** Channels per image: 1 (grayscale) or 3 (RGB, planar CHW as models emit). */
  channels: 1 | 3;
  /** Border between and around cells, in output pixels. Default 2. */
  pad?: number;
  /** Integer upscaling of every image pixel (nearest neighbour). Default 1. */
  scale?: number;
}

/** Pixel size of the PNG a layout gives: cols (w s + pad) + pad by rows (h s + pad) + pad. */
export function gridSize(l: GridLayout): { width: number; height: number } {
  const pad = l.pad ?? 2;
  const s = l.scale ?? 1;
  return { width: l.cols * (l.width * s + pad) + pad, height: l.rows * (l.height * s + pad) + pad };
}

/**
 * Encode `images` (rows * cols images, row-major, each channels x height x width f32 values in [0, 1],
 * clamped; NaN -> 0) as an 8-bit RGBA PNG grid on a dark-gray background. Cell (r, c) holds image
 * r * cols + c. Errors: a data length other than rows * cols * channels * height * width, or a bad layout.
 */
export function encodeGridPng(images: Float32Array, l: GridLayout): Uint8Array {
  const per = l.channels * l.height * l.width;
  for (const [k, v] of Object.entries({ rows: l.rows, cols: l.cols, height: l.height, width: l.width, scale: l.scale ?? 1 }))
    if (!Number.isInteger(v) || v < 1) throw new Error(`png grid: ${k} must be an integer >= 1, got ${v}`);
  if (images.length !== l.rows * l.cols * per)
    throw new Error(`png grid: expected ${l.rows} x ${l.cols} images of ${per} values (${l.rows * l.cols * per}), got ${images.length}`);
  const pad = l.pad ?? 2;
  const s = l.scale ?? 1;
  const { width, height } = gridSize(l);
  const png = new PNG({ width, height, colorType: 6 });
  for (let i = 0; i < width * height; i++) png.data.set([40, 40, 40, 255], 4 * i);
  const byte = (v: number): number => (Number.isNaN(v) ? 0 : Math.round(255 * Math.min(1, Math.max(0, v))));
  const hw = l.height * l.width;
  for (let r = 0; r < l.rows; r++)
    for (let c = 0; c < l.cols; c++) {
      const base = (r * l.cols + c) * per;
      const y0 = pad + r * (l.height * s + pad);
      const x0 = pad + c * (l.width * s + pad);
      for (let y = 0; y < l.height * s; y++)
        for (let x = 0; x < l.width * s; x++) {
          const p = Math.floor(y / s) * l.width + Math.floor(x / s);
          const o = 4 * ((y0 + y) * width + x0 + x);
          if (l.channels === 1) {
            const g = byte(images[base + p]!);
            png.data[o] = g;
            png.data[o + 1] = g;
            png.data[o + 2] = g;
          } else for (let ch = 0; ch < 3; ch++) png.data[o + ch] = byte(images[base + ch * hw + p]!);
        }
    }
  return new Uint8Array(PNG.sync.write(png));
}
