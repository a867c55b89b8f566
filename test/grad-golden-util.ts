// The PyTorch autograd golden cases of test/golden/grad/*.json (gen_grad.py): JSON types, the base64
// float64 decoder, the loader, and the case -> forward graph builder shared by autodiff-golden.test.ts
// (float64 reference run) and backend-grad-golden.test.ts (wasm training module).

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Attrs, Graph, RefTensor } from "../compiler/ir/types.js";
import { GraphBuilder } from "../compiler/ir/graph.js";

const DIR = join(dirname(fileURLToPath(import.meta.url)), "golden", "grad");

/** A float64 tensor as stored in the JSON (little-endian bytes, base64). */
export interface T64 {
  shape: number[];
  dtype: "f64";
  data: string;
}
export interface Step {
  op: string;
  attrs: Attrs;
  inputs?: string[];
  params: Record<string, T64>;
}
export interface GradCase {
  name: string;
  inputs: Record<string, T64>;
  steps: Step[];
  loss: { op: string; attrs: Attrs };
  target: T64;
  target_dtype: "f32" | "i32";
  expect: { loss: T64; grads: Record<string, T64>; state: Record<string, T64> };
}

export function dec(t: T64): RefTensor {
  const buf = Buffer.from(t.data, "base64");
  const bytes = new Uint8Array(buf.length);
  bytes.set(buf);
  return { shape: t.shape, data: new Float64Array(bytes.buffer) };
}

/** Parse test/golden/grad/`file`. */
export function load<X>(file: string): X {
  return JSON.parse(readFileSync(join(DIR, file), "utf8")) as X;
}

/** A case's forward graph (output "loss") and what the tests need to feed and differentiate it. */
export interface CaseGraph {
  graph: Graph;
  /** The loss value id. */
  loss: string;
  /** Case input name -> graph input value id (in case order; the target is not included). */
  ids: Map<string, string>;
  /** The "target" graph input value id. */
  target: string;
  /** Trainable param value ids (running_* buffers are state, not listed). */
  params: string[];
  /** Every param/state tensor in creation order: name `s<step>.<suffix>`, role, decoded data. */
  tensors: { name: string; state: boolean; value: RefTensor }[];
}

/**
 * Build the case graph: one input per case input (batch dim dropped), the steps chained from "x"
 * (or from their named inputs) with their params `s<i>.<suffix>` (zeros init; running_* as state),
 * then input "target" (target_dtype) and the loss node, output "loss".
 */
export function buildCaseGraph(c: GradCase): CaseGraph {
  const b = new GraphBuilder(c.name);
  const ids = new Map<string, string>();
  for (const [name, t] of Object.entries(c.inputs)) ids.set(name, b.input(name, "f32", t.shape.slice(1)));
  const tensors: CaseGraph["tensors"] = [];
  const params: string[] = [];
  let cur = ids.get("x")!;
  c.steps.forEach((s, i) => {
    const ins = s.inputs ? s.inputs.map((n) => ids.get(n)!) : [cur];
    for (const [suffix, t] of Object.entries(s.params)) {
      const name = `s${i}.${suffix}`;
      const state = suffix.startsWith("running_");
      const id = b.param(name, t.shape, { kind: "zeros" }, state ? "state" : "param");
      if (!state) params.push(id);
      ins.push(id);
      tensors.push({ name, state, value: dec(t) });
    }
    cur = b.node(s.op, ins, s.attrs)[0]!;
  });
  const target = b.input("target", c.target_dtype, c.target.shape.slice(1));
  const loss = b.node(c.loss.op, [cur, target], c.loss.attrs)[0]!;
  b.output("loss", loss);
  return { graph: b.build(), loss, ids, target, params, tensors };
}
