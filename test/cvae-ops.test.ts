// CVAE ops end to end: gaussian_kl and reparameterize references vs PyTorch golden vectors
// (test/golden/gen_cvae.py), gradient rules vs float64 finite differences, wasm kernels (SIMD + scalar)
// vs the references, and the counter-based normal RNG (determinism, independence, moments).

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Graph, RefTensor } from "../compiler/ir/types.js";
import { getOp } from "../compiler/ir/ops/index.js";
import { gradGraph } from "../compiler/autodiff/grad.js";
import { GraphEmitter } from "../compiler/autodiff/emit.js";
import { validateGraph } from "../compiler/ir/validate.js";
import { cloneGraph } from "../compiler/passes/clone.js";
import { optimizeGraph } from "../compiler/passes/pipeline.js";
import { boxMuller, normalAt, randomNormalKey } from "../compiler/ir/ops/normal-rng.js";
import { buildKernel, type KernelCase } from "./kernel-harness.js";
import { checkFiniteDifferences, lowerSource, randomWeights, rng, uniform } from "./autodiff.helpers.js";
import { relErr } from "./rel-err.js";

interface KlCase {
  name: string;
  shape: number[];
  reduction: string;
  gl: number;
  mu: number[];
  logvar: number[];
  loss: number;
  dmu: number[];
  dlogvar: number[];
}
interface RepCase {
  name: string;
  shape: number[];
  mu: number[];
  logvar: number[];
  eps: number[];
  g: number[];
  z: number[];
  dmu: number[];
  dlogvar: number[];
}

const FILE = join(dirname(fileURLToPath(import.meta.url)), "golden", "cvae", "cases.json");
const GOLD = JSON.parse(readFileSync(FILE, "utf8")) as { gaussian_kl: KlCase[]; reparameterize: RepCase[] };

const t64 = (shape: number[], data: ArrayLike<number>): RefTensor => ({ shape, data: Float64Array.from(data) });


describe("gaussian_kl and reparameterize float64 references vs PyTorch", () => {
  for (const c of GOLD.gaussian_kl)
    it(`gaussian_kl ${c.name}`, () => {
      const attrs = { reduction: c.reduction };
      const [l] = getOp("gaussian_kl")!.reference([t64(c.shape, c.mu), t64(c.shape, c.logvar)], attrs);
      expect(relErr(l!.data, [c.loss])).toBeLessThanOrEqual(1e-12);
      const [dmu, dlv] = getOp("gaussian_kl_grad")!.reference([t64(c.shape, c.mu), t64(c.shape, c.logvar), t64([1], [c.gl])], attrs);
      expect(relErr(dmu!.data, c.dmu)).toBeLessThanOrEqual(1e-12);
      expect(relErr(dlv!.data, c.dlogvar)).toBeLessThanOrEqual(1e-12);
    });
  for (const c of GOLD.reparameterize)
    it(`reparameterize gradient with a fixed eps ${c.name}`, () => {
      // z = mu + exp(0.5 logvar) eps as PyTorch; dmu = g; dlogvar from reparameterize_grad.
      const z = c.mu.map((m, k) => m + Math.exp(0.5 * c.logvar[k]!) * c.eps[k]!);
      expect(relErr(z, c.z)).toBeLessThanOrEqual(1e-12);
      expect(c.dmu).toEqual(c.g);
      const [dlv] = getOp("reparameterize_grad")!.reference([t64(c.shape, c.g), t64(c.shape, c.logvar), t64(c.shape, c.eps)], {});
      expect(relErr(dlv!.data, c.dlogvar)).toBeLessThanOrEqual(1e-12);
    });
  it("reparameterize inference form is mu; removed from inference graphs", () => {
    const g = lowerSource("model m {\n  input x: f32[4]\n  let mu = x -> fc1: dense(3)\n  let lv = x -> fc2: dense(3)\n  output z = reparameterize(mu, lv)\n}\n");
    const inf = optimizeGraph(g, { mode: "infer" });
    expect(inf.nodes.map((n) => n.op)).toEqual(["dense"]);
    const [z] = getOp("reparameterize")!.reference([t64([1, 2], [0.5, -1]), t64([1, 2], [3, 4])], {});
    expect(Array.from(z!.data)).toEqual([0.5, -1]);
  });
});

/** x -> dense mu, dense logvar -> reparameterize -> dense y; loss = mse(y, target, sum) + gaussian_kl(mu, lv). */
function cvaeGraph(reduction: string): { graph: Graph; loss: string } {
  const g = cloneGraph(
    lowerSource(
      "model m {\n  input x: f32[5]\n  output mu = x -> fc_mu: dense(3)\n  output lv = x -> fc_lv: dense(3)\n" +
        "  output y = reparameterize(mu, lv) -> dec: dense(4)\n}\n",
    ),
  );
  const emit = new GraphEmitter(g, "t", "both");
  const out = (n: string) => g.outputs.find((o) => o.name === n)!.value;
  const t = emit.input("target", "f32", ["N", 4]);
  const rec = emit.node1("mse", [out("y"), t], { reduction: "sum" });
  const kl = emit.node1("gaussian_kl", [out("mu"), out("lv")], { reduction });
  const loss = emit.node1("add", [rec, kl]);
  emit.output("loss", loss);
  return { graph: g, loss };
}

describe("CVAE gradient rules vs float64 finite differences", () => {
  for (const reduction of ["mean", "sum"])
    it(`dense encoder -> reparameterize -> dense decoder, mse + gaussian_kl(${reduction})`, () => {
      const { graph, loss } = cvaeGraph(reduction);
      const xId = graph.inputs.find((i) => i.name === "x")!.value;
      const params = Object.values(graph.values).filter((v) => v.kind === "param").map((v) => v.id);
      const res = gradGraph(graph, { loss, wrt: [...params, xId] });
      expect(validateGraph(res.graph)).toEqual([]);
      const ops = res.graph.nodes.map((n) => n.op);
      for (const op of ["reparameterize_train", "reparameterize_grad", "gaussian_kl_grad"]) expect(ops).toContain(op);
      expect(res.dropoutRng).toBeDefined();
      const r = rng(11);
      const weights = randomWeights(graph, r);
      const B = 3;
      const inputs: Record<string, RefTensor> = {
        x: uniform(r, [B, 5], -1, 1),
        target: uniform(r, [B, 4], -1, 1),
        dropout_rng: t64([2], [7, 42]),
      };
      const names = [...params.map((id) => graph.values[id]!.name!), "x"];
      expect(names).toContain("fc_lv.weight");
      expect(checkFiniteDifferences(res.graph, weights, inputs, names)).toBeGreaterThan(0);
    });
});

describe("CVAE wasm kernels vs references (SIMD + scalar)", () => {
  const TOL = 1e-5;
  const data = (n: number, seed: number, lo: number, hi: number): Float32Array =>
    Float32Array.from({ length: n }, (_, k) => Math.fround(lo + (hi - lo) * (0.5 + 0.5 * Math.sin(seed * 7.1 + k * 1.37))));
  const check = async (kc: KernelCase, batches: number[], tol: number) => {
    for (const simd of [true, false]) {
      const km = await buildKernel(kc, simd, Math.max(...batches));
      for (const B of batches) {
        const ins = kc.inputs.map((i) => i.data(B));
        const got = km.run(ins, B);
        const ref = getOp(kc.op)!.reference(
          ins.map((d, k) => ({ shape: kc.inputs[k]!.shape.map((x) => (x === "N" ? B : x)), data: Float64Array.from(d) })),
          kc.attrs,
        );
        ref.forEach((r, k) => expect(relErr(got[k]!, r.data), `${kc.op} simd=${simd} B=${B} output ${k}`).toBeLessThanOrEqual(tol));
      }
    }
  };
  it("gaussian_kl golden cases (wasm vs PyTorch)", async () => {
    for (const c of GOLD.gaussian_kl) {
      const s: (number | "N")[] = ["N", ...c.shape.slice(1)];
      const B = c.shape[0]!;
      for (const simd of [true, false]) {
        const k1 = await buildKernel({ op: "gaussian_kl", attrs: { reduction: c.reduction }, inputs: [{ shape: s, data: () => c.mu }, { shape: s, data: () => c.logvar }] }, simd, B);
        const [l] = k1.run([Float32Array.from(c.mu), Float32Array.from(c.logvar)], B);
        expect(relErr(l!, [c.loss])).toBeLessThanOrEqual(TOL);
        const kc: KernelCase = {
          op: "gaussian_kl_grad",
          attrs: { reduction: c.reduction },
          inputs: [{ shape: s, data: () => c.mu }, { shape: s, data: () => c.logvar }, { shape: [1], data: () => [c.gl] }],
        };
        const k2 = await buildKernel(kc, simd, B);
        const [dmu, dlv] = k2.run([Float32Array.from(c.mu), Float32Array.from(c.logvar), Float32Array.of(c.gl)], B);
        expect(relErr(dmu!, c.dmu)).toBeLessThanOrEqual(TOL);
        expect(relErr(dlv!, c.dlogvar)).toBeLessThanOrEqual(TOL);
      }
    }
  });
  it("gaussian_kl / gaussian_kl_grad on random data, batches 1, 5, 64", async () => {
    for (const reduction of ["mean", "sum"]) {
      const s: (number | "N")[] = ["N", 13];
      const ins = [{ shape: s, data: (B: number) => data(B * 13, 1, -2, 2) }, { shape: s, data: (B: number) => data(B * 13, 2, -4, 3) }];
      await check({ op: "gaussian_kl", attrs: { reduction }, inputs: ins }, [1, 5, 64], TOL);
      await check({ op: "gaussian_kl_grad", attrs: { reduction }, inputs: [...ins, { shape: [1], data: () => [0.75] }] }, [1, 5, 64], TOL);
    }
  });
  it("reparameterize_grad with the PyTorch fixed-eps cases", async () => {
    for (const c of GOLD.reparameterize) {
      const s: (number | "N")[] = ["N", ...c.shape.slice(1)];
      const kc: KernelCase = { op: "reparameterize_grad", attrs: {}, inputs: [{ shape: s, data: () => c.g }, { shape: s, data: () => c.logvar }, { shape: s, data: () => c.eps }] };
      for (const simd of [true, false]) {
        const km = await buildKernel(kc, simd, c.shape[0]!);
        const [dlv] = km.run([Float32Array.from(c.g), Float32Array.from(c.logvar), Float32Array.from(c.eps)], c.shape[0]!);
        expect(relErr(dlv!, c.dlogvar)).toBeLessThanOrEqual(TOL);
      }
    }
  });
  it("reparameterize_train: z and eps equal the reference (eps within 1e-6)", async () => {
    const s: (number | "N")[] = ["N", 11];
    const kc: KernelCase = {
      op: "reparameterize_train",
      attrs: { salt: 0x52500000 },
      inputs: [
        { shape: s, data: (B) => data(B * 11, 3, -2, 2) },
        { shape: s, data: (B) => data(B * 11, 4, -3, 1) },
        { shape: [2], dtype: "i32", data: () => Int32Array.of(123, 77) },
      ],
    };
    await check(kc, [1, 7, 40], 1e-6);
  });
  it("random_normal equals the reference within 1e-6 (seeds incl. negative and large)", async () => {
    const seeds = [0, 1, 2, -1, 2147483647, -2147483648, 12345, 99];
    const kc: KernelCase = {
      op: "random_normal",
      attrs: { size: 37 },
      inputs: [{ shape: ["N"], dtype: "i32", data: (B) => Int32Array.from({ length: B }, (_, k) => seeds[k % seeds.length]! + 1000 * Math.floor(k / seeds.length)) }],
    };
    await check(kc, [1, 8, 200], 1e-6);
  });
});

describe("counter-based normal RNG", () => {
  const rn = (seeds: number[], size: number) => getOp("random_normal")!.reference([t64([seeds.length], seeds)], { size })[0]!;
  it("same seed, same samples (also at another batch position); different seeds differ", () => {
    const a = rn([5, 6, 5], 16);
    expect(Array.from(a.data.slice(0, 16))).toEqual(Array.from(a.data.slice(32, 48)));
    const b = rn([6], 16);
    expect(Array.from(a.data.slice(16, 32))).toEqual(Array.from(b.data));
    expect(a.data.slice(0, 16).some((v, k) => v !== b.data[k])).toBe(true);
  });
  it("reparameterize_train: same [seed, step] same eps; another step or salt differs", () => {
    const op = getOp("reparameterize_train")!;
    const mu = t64([2, 4], new Array(8).fill(0));
    const lv = t64([2, 4], new Array(8).fill(0));
    const eps = (seed: number, step: number, salt: number) => Array.from(op.reference([mu, lv, t64([2], [seed, step])], { salt })[1]!.data);
    expect(eps(1, 2, 0x52500000)).toEqual(eps(1, 2, 0x52500000));
    expect(eps(1, 3, 0x52500000)).not.toEqual(eps(1, 2, 0x52500000));
    expect(eps(1, 2, 0x52500001)).not.toEqual(eps(1, 2, 0x52500000));
    expect(eps(2, 2, 0x52500000)).not.toEqual(eps(1, 2, 0x52500000));
  });
  it("moments of 200k numbers: mean ~ 0, variance ~ 1, kurtosis ~ 3, tails bounded", () => {
    let [s1, s2, s4, mx] = [0, 0, 0, 0];
    const n = 200000;
    for (let seed = 0; seed < 1000; seed++) {
      const key = randomNormalKey(seed);
      for (let j = 0; j < n / 1000; j++) {
        const x = normalAt(key, j);
        s1 += x;
        s2 += x * x;
        s4 += x ** 4;
        mx = Math.max(mx, Math.abs(x));
      }
    }
    const mean = s1 / n;
    const v = s2 / n - mean * mean;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(v - 1)).toBeLessThan(0.01);
    expect(Math.abs(s4 / n - 3)).toBeLessThan(0.06);
    expect(mx).toBeLessThanOrEqual(Math.sqrt(48 * Math.LN2) + 1e-12);
    expect(Math.abs(boxMuller(0xffffff, 0))).toBe(0);
  });
});
