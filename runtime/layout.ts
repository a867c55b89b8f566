// Weight layouts of the artifact's weights region: a tensor is stored either in PyTorch's row-major layout or
// prepacked into the layout its kernel reads. Neighbours: runtime/manifest.ts (WeightEntry.layout), backend/wasm/kernels/dense.ts (packs), cli/inspect.ts and export (unpack).

import type { WeightEntry, WeightLayout } from "./manifest.js";

/**
 * Float index of element W[n][k] of a [N, K] tensor (nn.Linear weight [out, in]) stored as "kn_panels"
 * (WeightLayout): the GEMM operand B[k][n] = W[n][k] cut into column panels of `panel` columns; panel p holds
 * columns [p*panel, p*panel + w) with w = min(panel, N - p*panel), k-major: element (k, n) of the panel at
 * p*panel*K + k*w + (n - p*panel). No padding: the packed tensor has exactly N*K elements.
 */
export function knPanelIndex(n: number, k: number, N: number, K: number, panel: number): number {
  const p0 = n - (n % panel);
  const w = Math.min(panel, N - p0);
  return p0 * K + k * w + (n - p0);
}

/**
 * Pack W [N, K] (row-major, PyTorch) into the "kn_panels" layout with `panel` columns per panel, into `out`
 * (N * K elements; default a new array), which is returned. Errors: throws when data.length or out.length
 * !== N * K.
 */
export function packKnPanels(data: Float32Array, N: number, K: number, panel: number, out: Float32Array = new Float32Array(N * K)): Float32Array {
  if (data.length !== N * K) throw new Error(`packKnPanels: expected ${N * K} elements ([${N}, ${K}]), got ${data.length}`);
  if (out.length !== N * K) throw new Error(`packKnPanels: output has ${out.length} elements, expected ${N * K} ([${N}, ${K}])`);
  // The packed tensor in storage order (knPanelIndex 0, 1, 2, ...): per panel, per k, its w columns. One plain
  // loop, no call per element: on a first compile this runs once over megabytes of weights, mostly unoptimized.
  let dst = 0;
  for (let p0 = 0; p0 < N; p0 += panel) {
    const w = Math.min(panel, N - p0);
    const rows = p0 * K;
    for (let k = 0; k < K; k++) for (let src = rows + k, end = src + w * K; src < end; src += K) out[dst++] = data[src]!;
  }
  return out;
}

/** Inverse of packKnPanels: the row-major [N, K] tensor. Errors: throws when data.length !== N * K. */
export function unpackKnPanels(data: Float32Array, N: number, K: number, panel: number): Float32Array {
  if (data.length !== N * K) throw new Error(`unpackKnPanels: expected ${N * K} elements ([${N}, ${K}]), got ${data.length}`);
  const out = new Float32Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) out[n * K + k] = data[knPanelIndex(n, k, N, K, panel)]!;
  return out;
}

/** Elements of a [N, K] view of a tensor: N = first dim, K = product of the rest. */
function nk(shape: number[]): [number, number] {
  return [shape[0] ?? 1, shape.slice(1).reduce((a, d) => a * d, 1)];
}

/**
 * A weight tensor in PyTorch layout (row-major in `entry.shape`) read from the weights region: `region` holds the
 * region's bytes starting at memory offset `regionOffset` (manifest weights.offset), e.g. the weights file or a
 * copy of module memory. Unpacks `entry.layout` when present. Errors: throws when the tensor lies outside `region`.
 */
export function readWeightTensor(entry: WeightEntry, region: Uint8Array, regionOffset: number): Float32Array {
  const count = entry.shape.reduce((a, d) => a * d, 1);
  const start = entry.offset - regionOffset;
  if (start < 0 || start + 4 * count > region.length)
    throw new Error(`weight ${entry.name}: bytes [${start}, ${start + 4 * count}) lie outside the weights region (${region.length} bytes)`);
  const raw = new Float32Array(region.slice(start, start + 4 * count).buffer);
  if (!entry.layout) return raw;
  const [N, K] = nk(entry.shape);
  return unpackKnPanels(raw, N, K, entry.layout.panel);
}

/**
 * The bytes of `data` (PyTorch layout, row-major in `entry.shape`) as stored in the weights region at
 * `entry.offset`: packed when `entry.layout` says so. Written into `out` when given (as many elements as the
 * tensor; e.g. a view of the weights region), else a new array (`data` itself when there is no layout).
 * Errors: throws on an element count of `data` or `out` that does not match.
 */
export function packWeightTensor(entry: WeightEntry, data: Float32Array, out?: Float32Array): Float32Array {
  const count = entry.shape.reduce((a, d) => a * d, 1);
  if (data.length !== count) throw new Error(`weight ${entry.name}: expected ${count} elements, got ${data.length}`);
  if (!entry.layout) {
    if (!out) return data;
    if (out.length !== count) throw new Error(`weight ${entry.name}: output has ${out.length} elements, expected ${count}`);
    out.set(data);
    return out;
  }
  const [N, K] = nk(entry.shape);
  return packKnPanels(data, N, K, entry.layout.panel, out);
}
