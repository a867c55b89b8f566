// A matrix as a PNG heatmap (pngjs): one square cell per entry, a viridis-like colour scale from 0 to the
// given maximum. Pure (bytes out). Neighbours: cli/attention.ts (attention weights), io/atomic.ts (writing).

import { PNG } from "pngjs";

/** Anchor colours of the scale at t = 0, 0.25, 0.5, 0.75, 1 (matplotlib viridis samples). */
const VIRIDIS: readonly [number, number, number][] = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

/** RGB of t in [0, 1] on the viridis-like scale (linear between anchors; t clamped, NaN -> 0). */
export function colormap(t: number): [number, number, number] {
  const x = Number.isNaN(t) ? 0 : Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const k = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - k;
  const [a, b] = [VIRIDIS[k]!, VIRIDIS[k + 1]!];
  return [0, 1, 2].map((c) => Math.round(a[c]! + (b[c]! - a[c]!) * f)) as [number, number, number];
}

/** Options of renderHeatmap. */
export interface HeatmapOptions {
  /** Pixels per cell side; default: the largest that keeps the image within 768 px (at least 1, at most 32). */
  cell?: number;
  /** Value drawn with the top colour; default the matrix maximum (1 when every value is <= 0). */
  max?: number;
}

/**
 * Render `values` (row-major `rows` x `cols`, e.g. attention weights [queries, keys]) as a PNG: row r
 * is drawn at the top-to-bottom position r, column c left to right; colour = colormap(value / max).
 * Returns the PNG bytes and the cell size and maximum used. Errors: Error when the sizes do not match.
 */
export function renderHeatmap(values: ArrayLike<number>, rows: number, cols: number, options: HeatmapOptions = {}): { png: Uint8Array; cell: number; max: number } {
  if (rows < 1 || cols < 1 || values.length !== rows * cols) throw new Error(`heatmap: ${values.length} values for ${rows} x ${cols}`);
  const cell = options.cell ?? Math.max(1, Math.min(32, Math.floor(768 / Math.max(rows, cols))));
  let max = options.max ?? 0;
  if (options.max === undefined) for (let i = 0; i < values.length; i++) max = Math.max(max, values[i]!);
  if (!(max > 0)) max = 1;
  const png = new PNG({ width: cols * cell, height: rows * cell });
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const [R, G, B] = colormap(values[r * cols + c]! / max);
      for (let y = r * cell; y < (r + 1) * cell; y++)
        for (let x = c * cell; x < (c + 1) * cell; x++) {
          const k = (y * cols * cell + x) * 4;
          png.data[k] = R;
          png.data[k + 1] = G;
          png.data[k + 2] = B;
          png.data[k + 3] = 255;
        }
    }
  return { png: new Uint8Array(PNG.sync.write(png)), cell, max };
}
