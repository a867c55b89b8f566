// Loader of the attention / transformer-block golden vectors (test/golden/gen_attention.py) and the
// node-input builder shared by test/attention*.test.ts.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import type { RefTensor } from "../compiler/ir/types.js";
import { relErr } from "./rel-err.js";
export { relErr };

/** A golden tensor: shape, dtype and base64 little-endian data. */
export interface GT {
  shape: number[];
  dtype: "f64" | "f32";
  data: string;
}

/** One multihead_attention case. */
export interface AttnCase {
  name: string;
  num_heads: number;
  causal: boolean;
  self: boolean;
  query: GT;
  key_value?: GT;
  mask?: GT;
  g: GT;
  params: Record<string, GT>;
  expect: { y: GT; weights: GT; dquery: GT; dkey_value?: GT; grads: Record<string, GT> };
}

/** One nn.TransformerEncoderLayer case (small: with params and grads; real size: forward only, det weights). */
export interface BlockCase {
  name: string;
  d_model: number;
  nhead: number;
  dim_feedforward: number;
  seq?: number;
  x?: GT;
  g?: GT;
  params?: Record<string, GT>;
  expect: { y: GT; dx?: GT; grads?: Record<string, GT> };
}

const FILE = join(dirname(fileURLToPath(import.meta.url)), "golden", "attention", "cases.json");
const ALL = JSON.parse(readFileSync(FILE, "utf8")) as { attention: AttnCase[]; block: BlockCase[] };
export const ATTN_CASES = ALL.attention;
export const BLOCK_CASES = ALL.block;

/** Decode a golden tensor to float64. */
export function dec(t: GT): RefTensor {
  const b = Buffer.from(t.data, "base64");
  const src = t.dtype === "f32" ? new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4) : new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8);
  return { shape: [...t.shape], data: Float64Array.from(src) };
}

/** The four parameter names in node order. */
export const MHA_PARAMS = ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"] as const;

/** Node inputs of a case: [query, key_value (= query for self), mask?, 4 params]. */
export function nodeInputs(c: AttnCase): RefTensor[] {
  const q = dec(c.query);
  return [q, c.key_value ? dec(c.key_value) : q, ...(c.mask ? [dec(c.mask)] : []), ...MHA_PARAMS.map((p) => dec(c.params[p]!))];
}


/** gen_attention.py's det(): scale * sin(0.7 k + len(name)) for element k, rounded to f32. */
export function det(name: string, n: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, (_, k) => Math.fround(scale * Math.sin(0.7 * k + name.length)));
}

/** The real-size block case's weights: norm weights 1 + det(name, 0.2), the rest det(name, 1/sqrt(last dim)). */
export function detWeights(name: string, shape: number[]): Float32Array {
  const n = shape.reduce((a, d) => a * d, 1);
  if (name.startsWith("norm") && name.endsWith("weight")) return det(name, n, 0.2).map((v) => Math.fround(1 + v));
  return det(name, n, 1 / Math.sqrt(shape[shape.length - 1]!));
}
