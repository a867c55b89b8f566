// Hand-built modelc modules for the runtime and artifact tests (binaryen, following runtime/manifest.ts's
// ABI) standing in for backend/wasm/emit.ts. Neighbours: test/runtime*.test.ts, test/artifact*.test.ts.

import binaryen from "binaryen";
import { expect } from "vitest";
import { ModelcRuntimeError } from "../runtime/index.js";
import type { EmitResultLike } from "../compiler/artifact/build.js";
import type { Graph } from "../compiler/ir/types.js";

/** The fixture's weight: w[4], f32, at memory offset 0. */
export const WEIGHT = new Float32Array([0.5, -1, 2, 10]);
/** Activation region start (bytes). */
export const BASE = 64;

/**
 * Model "affine": inputs x f32 [N, 4] and k i32 [N, 1]; outputs y = 2*x + w (f32 [N, 4]) and z = k + 1
 * (i32 [N, 1]). Per-sample layout: x@0 (16 B), y@16 (16 B), k@32 (4 B), z@36 (4 B); 48 bytes per sample.
 * `simd`: y is computed with f32x4 ops; `relaxed`: with f32x4.relaxed_madd(x, 2, w) (exact: 2x is, so one
 * rounding either way; validates only on hosts with relaxed SIMD); otherwise with scalar f32 ops.
 * `embed`: w as a data segment.
 */
export function affineModule(flavour: "simd" | "relaxed" | "scalar", embed: boolean): EmitResultLike {
  const m = new binaryen.Module();
  const features = { simd: binaryen.Features.SIMD128, relaxed: binaryen.Features.SIMD128 | binaryen.Features.RelaxedSIMD, scalar: 0 }[flavour];
  m.setFeatures(binaryen.Features.MVP | features);
  const blob = new Uint8Array(WEIGHT.buffer.slice(0));
  m.setMemory(1, 65536, "memory", embed ? [{ offset: m.i32.const(0), data: blob, passive: false }] : []);
  const i32 = binaryen.i32;
  const batch = () => m.local.get(0, i32);
  const i = () => m.local.get(1, i32);
  // address of sample i of a value at offsetPerSample o, element size `size`: BASE + o*batch + size*i
  const addr = (o: number, size: number) =>
    m.i32.add(m.i32.add(m.i32.const(BASE), m.i32.mul(m.i32.const(o), batch())), m.i32.mul(m.i32.const(size), i()));
  const y: number[] = [];
  if (flavour === "simd") {
    const x = () => m.v128.load(0, 4, addr(0, 16));
    y.push(m.v128.store(0, 4, addr(16, 16), m.f32x4.add(m.f32x4.add(x(), x()), m.v128.load(0, 4, m.i32.const(0)))));
  } else if (flavour === "relaxed") {
    const api = binaryen as unknown as { _BinaryenSIMDTernary(mod: number, op: number, a: number, b: number, c: number): number; RelaxedMaddVecF32x4: number };
    const two = m.f32x4.splat(m.f32.const(2));
    const madd = api._BinaryenSIMDTernary(m.ptr, api.RelaxedMaddVecF32x4, m.v128.load(0, 4, addr(0, 16)), two, m.v128.load(0, 4, m.i32.const(0)));
    y.push(m.v128.store(0, 4, addr(16, 16), madd));
  } else {
    for (let j = 0; j < 4; j++) {
      const x = m.f32.load(4 * j, 4, addr(0, 16));
      y.push(m.f32.store(4 * j, 4, addr(16, 16), m.f32.add(m.f32.mul(x, m.f32.const(2)), m.f32.load(4 * j, 4, m.i32.const(0)))));
    }
  }
  const z = m.i32.store(0, 4, addr(36, 4), m.i32.add(m.i32.load(0, 4, addr(32, 4)), m.i32.const(1)));
  const body = m.block("done", [
    m.loop("next", m.block(null, [
      m.br("done", m.i32.ge_u(i(), batch())),
      ...y,
      z,
      m.local.set(1, m.i32.add(i(), m.i32.const(1))),
      m.br("next"),
    ])),
  ]);
  m.addFunction("run", binaryen.createType([i32]), binaryen.none, [i32], body);
  m.addFunctionExport("run", "run");
  if (!m.validate()) throw new Error("fixture module does not validate");
  const wasm = m.emitBinary();
  m.dispose();
  return {
    wasm,
    inputs: [
      { name: "x", dtype: "f32", shape: ["N", 4], elementsPerSample: 4, offsetPerSample: 0 },
      { name: "k", dtype: "i32", shape: ["N", 1], elementsPerSample: 1, offsetPerSample: 32 },
    ],
    outputs: [
      { name: "y", dtype: "f32", shape: ["N", 4], elementsPerSample: 4, offsetPerSample: 16 },
      { name: "z", dtype: "i32", shape: ["N", 1], elementsPerSample: 1, offsetPerSample: 36 },
    ],
    memory: { activationBase: BASE, bytesPerSample: 48, initialPages: 1 },
    weights: { offset: 0, bytes: 16, tensors: [{ name: "w", shape: [4], dtype: "f32", offset: 0 }], blob },
  };
}

/** A graph with the fixture's input/output names (no nodes: buildArtifact only checks names). */
export function affineGraph(): Graph {
  return {
    irVersion: 1,
    name: "affine",
    inputs: [{ name: "x", value: "v0" }, { name: "k", value: "v1" }],
    outputs: [{ name: "y", value: "v2" }, { name: "z", value: "v3" }],
    values: {
      v0: { id: "v0", kind: "input", name: "x", type: { dtype: "f32", shape: ["N", 4] } },
      v1: { id: "v1", kind: "input", name: "k", type: { dtype: "i32", shape: ["N", 1] } },
      v2: { id: "v2", kind: "activation", type: { dtype: "f32", shape: ["N", 4] } },
      v3: { id: "v3", kind: "activation", type: { dtype: "i32", shape: ["N", 1] } },
    },
    nodes: [],
  };
}

/** Expected y for x (batch-major [N, 4]) in float32 arithmetic. */
export function expectedY(x: Float32Array): Float32Array {
  const y = new Float32Array(x.length);
  for (let n = 0; n < x.length; n++) y[n] = Math.fround(Math.fround(2 * x[n]!) + WEIGHT[n % 4]!);
  return y;
}

/** x = [0, 1, 2, ...] * 0.25 - 3 for `batch` samples, and k = [0, 1, 2, ...]. */
export function sampleInputs(batch: number): { x: Float32Array; k: Int32Array } {
  const x = new Float32Array(batch * 4);
  for (let n = 0; n < x.length; n++) x[n] = n * 0.25 - 3;
  const k = new Int32Array(batch);
  for (let n = 0; n < batch; n++) k[n] = n * 7 - 5;
  return { x, k };
}

/** The ModelcRuntimeError a promise rejects with; fails the test when it resolves or rejects with anything else. */
export async function caughtAsync(p: Promise<unknown>): Promise<ModelcRuntimeError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ModelcRuntimeError);
    return e as ModelcRuntimeError;
  }
  throw new Error("expected a rejection with ModelcRuntimeError");
}

/** Run `f` and return the ModelcRuntimeError it throws; fails the test when it returns or throws anything else. */
export function caught(f: () => unknown): ModelcRuntimeError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ModelcRuntimeError);
    return e as ModelcRuntimeError;
  }
  throw new Error("expected a ModelcRuntimeError");
}
