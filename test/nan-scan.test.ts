// The module-side NaN check: the `nan_scan(ptr, n) -> i32` export of every inference module (compiler/backend/wasm/
// nan-scan.ts; SIMD and scalar builds) called directly over memory ranges, and Model.run / check() using it (runtime/
// model.ts): the same bad-value messages as the JS scan, NaN in the second input, ±Infinity / -0 pass, nan: "allow",
// the model usable after a refused call. Neighbours: test/runtime.test.ts (the JS scan, artifacts without the export).

import { describe, expect, it } from "vitest";
import { buildArtifact } from "../compiler/artifact/build.js";
import { emitWasm, type EmitResult } from "../compiler/backend/wasm/emit.js";
import { usesSimd } from "../compiler/backend/wasm/module.js";
import { GraphBuilder } from "../compiler/ir/graph.js";
import { loadModel, type Model } from "../runtime/index.js";
import { randomWeights } from "./backend.helpers.js";
import { caught } from "./runtime-fixture.js";

const U = { kind: "uniform" as const, low: -1, high: 1 };

/** x [N, 6] -> dense 5, + y [N, 5] = s: two f32 inputs, 6 and 5 elements per sample (odd tails). */
function twoInputs() {
  const b = new GraphBuilder("two");
  const x = b.input("x", "f32", [6]);
  const y = b.input("y", "f32", [5]);
  const [h] = b.node("dense", [x, b.param("fc.weight", [5, 6], U), b.param("fc.bias", [5], U)], { units: 5, bias: true });
  const [s] = b.node("add", [h!, y], {});
  b.output("s", s!);
  return b.build();
}

const g = twoInputs();
const w = randomWeights(g, 7);
const builds = { simd: emitWasm(g, w, { simd: true, embedWeights: true }), scalar: emitWasm(g, w, { simd: false, embedWeights: true }) };

async function exportsOf(res: EmitResult): Promise<{ memory: WebAssembly.Memory; scan: (ptr: number, n: number) => number }> {
  const { instance } = await WebAssembly.instantiate(res.wasm as Uint8Array<ArrayBuffer>, {});
  return { memory: instance.exports["memory"] as WebAssembly.Memory, scan: instance.exports["nan_scan"] as (ptr: number, n: number) => number };
}

describe.each(["simd", "scalar"] as const)("nan_scan export, %s build", (flavour) => {
  it("is a v128 loop only in the SIMD build", () => {
    expect(usesSimd(builds[flavour].wasm)).toBe(flavour === "simd");
  });

  it("finds one NaN at the first, middle, last and every tail index of n = 0..71, never one outside [ptr, ptr + 4n)", async () => {
    const { memory, scan } = await exportsOf(builds[flavour]);
    const base = builds[flavour].memory.activationBase;
    for (const shift of [0, 4, 8, 12]) { // ptr 16-aligned and not: the SIMD loads are align=4
      const ptr = base + 64 + shift;
      const f = new Float32Array(memory.buffer, ptr - 64, 72 + 128);
      for (let n = 0; n <= 71; n++) {
        f.fill(1.5);
        expect(scan(ptr, n)).toBe(0);
        f[16 - 1] = NaN; // just before the range
        f[16 + n] = NaN; // just after it
        expect(scan(ptr, n)).toBe(0);
        const at = new Set([0, n >> 1, n - 1, ...Array.from({ length: 20 }, (_, k) => n - 1 - k)].filter((k) => k >= 0 && k < n));
        for (const k of at) {
          f[16 + k] = NaN;
          expect([n, k, scan(ptr, n)]).toEqual([n, k, 1]);
          f[16 + k] = 1.5;
        }
      }
      expect(scan(ptr, -4)).toBe(0);
    }
  });

  it("sees every NaN payload (quiet, signalling, negative); ±Infinity, -0, max, denormals are not NaN", async () => {
    const { memory, scan } = await exportsOf(builds[flavour]);
    const ptr = builds[flavour].memory.activationBase;
    const bits = new Uint32Array(memory.buffer, ptr, 40);
    const f = new Float32Array(memory.buffer, ptr, 40);
    for (const nan of [0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fffffff, 0xffffffff]) {
      f.fill(0);
      bits[37] = nan;
      expect(scan(ptr, 40)).toBe(1);
      bits[37] = 0;
      bits[5] = nan;
      expect(scan(ptr, 40)).toBe(1);
    }
    f.set([Infinity, -Infinity, -0, 0, 3.4028234663852886e38, -3.4028234663852886e38, 1e-45, -1e-45]);
    f.copyWithin(8, 0, 32);
    for (let k = 8; k < 40; k += 8) f.copyWithin(k, 0, 8);
    expect(scan(ptr, 40)).toBe(0);
  });
});

describe.each([["simd", "force"], ["scalar", "off"]] as const)("Model.run with nan_scan (%s build)", (flavour, simd) => {
  const art = buildArtifact({
    name: "two", graph: g, simd: builds.simd, scalar: builds.scalar, compilerVersion: "test", flopsPerSample: 0, ops: g.nodes.length, weights: "embedded",
  }).files;
  const load = (): Promise<Model> => loadModel(new Uint8Array(art.get(flavour === "simd" ? "two.wasm" : "two.nosimd.wasm") as Uint8Array), { simd });
  const inputs = (batch: number) => ({
    x: Float32Array.from({ length: batch * 6 }, (_, i) => Math.sin(i)),
    y: Float32Array.from({ length: batch * 5 }, (_, i) => Math.cos(i)),
  });
  const msg = (name: string, k: number, per: number) =>
    `input '${name}': NaN at flat index ${k} ([${Math.floor(k / per)}, ${k % per}]); pass { nan: "allow" } to run() to let NaN through`;

  it("refuses a NaN at the first, middle, last and tail index of either input with the JS scan's message; the model stays usable", async () => {
    const m = await load();
    expect(m.variant).toBe(flavour);
    expect((m as unknown as { nanScan: unknown }).nanScan).toBeTypeOf("function"); // the module scans, not the JS loop
    for (const batch of [1, 3, 64]) {
      const clean = inputs(batch);
      const want = m.run(clean).s!;
      for (const [name, per] of [["x", 6], ["y", 5]] as const) {
        const n = batch * per;
        for (const k of new Set([0, n >> 1, n - 1, n - 2, n - 3, n - 5])) {
          if (k < 0) continue;
          const bad = inputs(batch);
          bad[name][k] = NaN;
          if (k !== n - 1) bad[name][n - 1] = NaN; // the first NaN is reported
          const e = caught(() => m.run(bad));
          expect([e.code, e.message]).toEqual(["bad-value", msg(name, k, per)]);
          expect(caught(() => m.check(bad)).message).toBe(msg(name, k, per));
          expect(caught(() => m.run({ x: Array.from(bad.x), y: Array.from(bad.y) })).message).toBe(msg(name, k, per));
          // the refused batch left nothing behind: the clean one gives the same bytes
          expect(Array.from(m.run(clean).s!)).toEqual(Array.from(want));
        }
      }
      expect(m.check(clean)).toBe(batch);
      expect(Array.from(m.run(clean).s!)).toEqual(Array.from(want));
    }
  });

  it('±Infinity and -0 pass; nan: "allow" runs NaN through; a NaN in x is reported before one in y', async () => {
    const m = await load();
    const v = inputs(2);
    v.x.set([Infinity, -Infinity, -0], 3);
    v.y.set([-0, Infinity], 6);
    const out = m.run(v).s!;
    expect(out.length).toBe(10);
    expect(out[7]).toBe(Infinity);
    v.x[7] = NaN;
    v.y[1] = NaN;
    expect(caught(() => m.run(v)).message).toBe(msg("x", 7, 6));
    const allowed = m.run(v, { nan: "allow" }).s!;
    expect(Number.isNaN(allowed[1]!)).toBe(true); // y[1] is added into s[0, 1]
    expect(Array.from(allowed.subarray(5, 10), Number.isNaN)).toEqual([true, true, true, true, true]); // x[7] feeds all of sample 1
    expect(m.check(v, { nan: "allow" })).toBe(2);
  });
});
