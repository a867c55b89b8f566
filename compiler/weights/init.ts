// Seeded weight initialization: fills every param/state value from its InitSpec (PyTorch default
// initializers, chosen by the op table) when no weights are loaded. Neighbours: ir/ops/* set the
// InitSpec, weights/bind.ts is the alternative source of weights, index.ts picks one.

import type { Graph, InitSpec, WeightMap, WeightTensor } from "../ir/types.js";
import { numel, paramValues } from "../ir/graph.js";
import { Xoshiro128, fnv1a } from "../util/rng.js";
import { fillUniform } from "./uniform-fill.js";

/** The PRNG lives in util/rng.ts (shared with the data pipeline); re-exported for existing importers. */
export { Xoshiro128, fnv1a };

/**
 * Fill `n` f32 values from an InitSpec with `rng`:
 * - uniform: low + (high - low) * u, u in [0, 1) (PyTorch kaiming_uniform_/uniform_ bounds are in the spec)
 * - normal: mean + std * z, z standard normal by Box–Muller (both outputs of each pair used)
 * - zeros / ones: constants (the rng is not used).
 */
export function sampleInit(spec: InitSpec, n: number, rng: Xoshiro128): Float32Array {
  const out = new Float32Array(n);
  switch (spec.kind) {
    case "zeros":
      return out;
    case "ones":
      return out.fill(1);
    case "uniform": {
      // out[i] = low + (high - low) * rng.nextFloat(), computed in wasm (uniform-fill.ts: same values, no cold JS)
      const state = rng.getState();
      fillUniform(out, state, spec.low, spec.high - spec.low);
      rng.setState(state);
      return out;
    }
    case "normal": {
      for (let i = 0; i < n; i += 2) {
        const u1 = 1 - rng.nextFloat(); // (0, 1]: log is finite
        const u2 = rng.nextFloat();
        const r = Math.sqrt(-2 * Math.log(u1));
        out[i] = spec.mean + spec.std * r * Math.cos(2 * Math.PI * u2);
        if (i + 1 < n) out[i + 1] = spec.mean + spec.std * r * Math.sin(2 * Math.PI * u2);
      }
      return out;
    }
  }
}

/**
 * Initialize every param/state value of `graph` (by its state_dict `name`) from its `init` spec.
 * Each tensor gets its own xoshiro128** stream seeded with `seed ^ fnv1a(name)` (mixed by
 * splitmix32), so a tensor's values depend only on (seed, name, spec, shape): adding a layer does
 * not change the others. Same seed -> bit-identical weights on every platform.
 * Defaults: seed 0. Errors: a param without a name, init, or with a non-static shape (a lowering
 * bug, thrown as Error); duplicate names.
 */
export function initWeights(graph: Graph, seed = 0): WeightMap {
  const out: WeightMap = new Map();
  for (const v of paramValues(graph)) {
    if (v.name === undefined) throw new Error(`initWeights: ${v.kind} value ${v.id} has no name`);
    if (v.init === undefined) throw new Error(`initWeights: ${v.kind} '${v.name}' has no init spec`);
    if (out.has(v.name)) throw new Error(`initWeights: duplicate parameter name '${v.name}'`);
    const shape = v.type.shape.map((d) => {
      if (typeof d !== "number") throw new Error(`initWeights: '${v.name}' has a non-static shape`);
      return d;
    });
    const rng = new Xoshiro128((seed ^ fnv1a(v.name)) >>> 0);
    const t: WeightTensor = { shape, data: sampleInit(v.init, numel(shape), rng) };
    // nn.Embedding(padding_idx=r): row r of axis 0 starts at zero.
    if (v.init.kind === "normal" && v.init.zeroRow !== undefined && shape.length > 0) {
      const row = numel(shape.slice(1));
      t.data.fill(0, v.init.zeroRow * row, (v.init.zeroRow + 1) * row);
    }
    out.set(v.name, t);
  }
  return out;
}
