// Id ranges of embedding inputs: which graph inputs an embedding reads as ids (for the manifest's `range`,
// the runtime and the training driver / modelc eval data checks). No runtime imports (no cycle with ops/index.ts).

import type { Graph } from "./types.js";

/** Where an input's ids must lie: [lo, hi) and the embedding weight that sets hi (the smallest table). */
export interface IdRange {
  lo: number;
  hi: number;
  /** State_dict name of the embedding table, e.g. "q_embed.weight". */
  weight: string;
}

/** Ops that move ids without changing them: an embedding's ids may come from graph inputs through these. */
const ID_MOVES = new Set(["flatten", "reshape", "concat"]);

/**
 * Graph inputs read as ids by an embedding node, directly or through flatten / reshape / concat -> the
 * range their values must lie in (the smallest table when several embeddings read one input). Used for
 * the manifest's `range` field (runtime check) and by the training driver's data check.
 */
export function embeddingIdRanges(g: Graph): Map<string, IdRange> {
  const out = new Map<string, IdRange>();
  const producer = new Map<string, Graph["nodes"][number]>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
  const sources = (id: string, seen = new Set<string>()): string[] => {
    if (seen.has(id)) return [];
    seen.add(id);
    const input = g.inputs.find((i) => i.value === id);
    if (input) return [input.name];
    const p = producer.get(id);
    return p && ID_MOVES.has(p.op) ? p.inputs.flatMap((i) => sources(i, seen)) : [];
  };
  for (const n of g.nodes) {
    if (n.op !== "embedding") continue;
    const V = n.attrs["num_embeddings"] as number;
    const w = g.values[n.inputs[1]!];
    for (const name of sources(n.inputs[0]!)) {
      const prev = out.get(name);
      if (!prev || V < prev.hi) out.set(name, { lo: 0, hi: V, weight: w?.name ?? n.inputs[1]! });
    }
  }
  return out;
}

/**
 * The first value of `data` (samples of per-sample `shape`, batch-major) outside [lo, hi), with its index
 * [sample, ...per-sample position], or undefined when all fit. For id checks of data fields (cli/eval.ts).
 */
export function firstOutOfRange(data: ArrayLike<number>, shape: readonly number[], lo: number, hi: number): { value: number; at: number[] } | undefined {
  for (let k = 0; k < data.length; k++) {
    const x = data[k]!;
    if (x >= lo && x < hi) continue;
    const at: number[] = [];
    let rest = k;
    for (let d = shape.length - 1; d >= 0; d--) {
      at.unshift(rest % shape[d]!);
      rest = Math.floor(rest / shape[d]!);
    }
    at.unshift(rest);
    return { value: x, at };
  }
  return undefined;
}
