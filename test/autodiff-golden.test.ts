// Autodiff, losses and optimizer updates against PyTorch autograd / torch.optim golden vectors
// (test/golden/grad/*.json from gen_grad.py, float64, matched to 1e-9). Neighbours: autodiff.helpers.ts,
// grad-golden-util.ts (case loader and graph builder).

import { describe, expect, it } from "vitest";
import type { Attrs, RefTensor } from "../compiler/ir/types.js";
import { getOp } from "../compiler/ir/ops/index.js";
import { validateGraph } from "../compiler/ir/validate.js";
import { gradGraph } from "../compiler/autodiff/grad.js";
import { run64 } from "./autodiff.helpers.js";
import { buildCaseGraph, dec, load, type GradCase, type T64 } from "./grad-golden-util.js";

/** |a - b| <= tol * max(1, |b|) elementwise, with a message naming the element. */
function expectClose(what: string, got: RefTensor, want: RefTensor, tol = 1e-9): void {
  expect(got.shape, what).toEqual(want.shape);
  for (let k = 0; k < want.data.length; k++) {
    const [a, b] = [got.data[k]!, want.data[k]!];
    if (!(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)))) throw new Error(`${what}[${k}]: got ${a}, PyTorch ${b}`);
  }
}

/** Build the case graph, differentiate wrt every param and input, run in float64, compare with PyTorch. */
function checkCase(c: GradCase): void {
  const { graph, loss, ids, params, tensors } = buildCaseGraph(c);
  const inputs: Record<string, RefTensor> = {};
  for (const [name, t] of Object.entries(c.inputs)) inputs[name] = dec(t);
  inputs["target"] = dec(c.target);
  const weights = new Map(tensors.map((t) => [t.name, t.value] as const));
  const res = gradGraph(graph, { loss, wrt: [...params, ...ids.values()] });
  expect(validateGraph(res.graph)).toEqual([]);
  const out = run64(res.graph, weights, inputs);
  expectClose("loss", out["loss"]!, dec(c.expect.loss));
  expect(Object.keys(res.grads).sort()).toEqual(Object.keys(c.expect.grads).sort());
  for (const [name, t] of Object.entries(c.expect.grads)) expectClose(`grad ${name}`, out[`grad:${name}`]!, dec(t));
  for (const [name, t] of Object.entries(c.expect.state)) expectClose(`state ${name}`, out[`state:${name}`]!, dec(t));
}

describe("PyTorch autograd golden: ops", () => {
  const file = load<{ cases: GradCase[] }>("ops.json");
  it("covers the differentiable v1 ops", () => {
    const ops = new Set(file.cases.flatMap((c) => c.steps.map((s) => s.op)));
    for (const op of ["relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softmax", "add", "mul", "dense", "conv2d", "maxpool2d", "avgpool2d", "global_avgpool2d", "flatten", "reshape", "concat", "batchnorm"])
      expect(ops.has(op), op).toBe(true);
  });
  for (const c of file.cases) it(c.name, () => checkCase(c));
});

describe("PyTorch autograd golden: losses", () => {
  const file = load<{ cases: GradCase[] }>("losses.json");
  for (const c of file.cases) it(c.name, () => checkCase(c));
});

interface OptimCase {
  name: string;
  op: string;
  attrs: Attrs;
  lr: number;
  param: T64;
  grads: T64[];
  expect: { param: T64; state: T64[] }[];
}
interface ClipCase {
  name: string;
  max_norm: number;
  grads: T64[];
  norm: T64;
  clipped: T64[];
}

describe("torch.optim golden: 3 steps of each update op", () => {
  const file = load<{ cases: OptimCase[]; clip: ClipCase[] }>("optim.json");
  for (const c of file.cases)
    it(c.name, () => {
      const def = getOp(c.op)!;
      let p = dec(c.param);
      let state = c.expect[0]!.state.map(() => ({ shape: [...p.shape], data: new Float64Array(p.data.length) }));
      c.grads.forEach((g, k) => {
        const scalars = c.op === "sgd_update" ? [c.lr] : [c.lr, k + 1];
        const outs = def.reference([p, dec(g), ...state, ...scalars.map((s) => ({ shape: [1], data: Float64Array.of(s) }))], c.attrs);
        [p, ...state] = outs as [RefTensor, ...RefTensor[]];
        expectClose(`${c.name} step ${k + 1} param`, p, dec(c.expect[k]!.param), 1e-12);
        state.forEach((s, i) => expectClose(`${c.name} step ${k + 1} state ${i}`, s, dec(c.expect[k]!.state[i]!), 1e-12));
      });
    });
  for (const c of file.clip)
    it(`global_norm + scale: ${c.name}`, () => {
      const gs = c.grads.map(dec);
      const [norm, coef] = getOp("global_norm")!.reference(gs, { max_norm: c.max_norm }) as [RefTensor, RefTensor];
      expectClose("norm", norm, dec(c.norm), 1e-12);
      gs.forEach((g, i) => expectClose(`clipped ${i}`, getOp("scale")!.reference([g, coef], {})[0]!, dec(c.clipped[i]!), 1e-12));
    });
});
