// Binding loaded weights (a PyTorch state_dict, usually read from safetensors) to a graph's
// params and state. Neighbours: weights/safetensors.ts reads the file, weights/init.ts is the
// fallback, index.ts (compile) and cli/compile.ts call bindWeights.

import { diag, nearestNames, type Diagnostic, type RelatedLoc } from "../diagnostics.js";
import { paramValues, showShape } from "../ir/graph.js";
import type { Graph, ValueInfo, WeightMap } from "../ir/types.js";

/** A loaded tensor: `dtype` as stored (safetensors names like "F32", "I64"); float data is f32. */
export interface LoadedTensor {
  dtype?: string;
  shape: number[];
  data: ArrayLike<number | bigint>;
}

/** One mismatch between the graph's params/state and the loaded tensors. */
export interface WeightProblem {
  kind: "missing" | "extra" | "shape" | "dtype";
  name: string;
  /** Shape the graph needs (absent for "extra"). */
  expected?: number[];
  /** Shape found in the file (absent for "missing"). */
  got?: number[];
  /** For "dtype": the stored dtype that could not be used. */
  gotDType?: string;
}

/** Names PyTorch stores that are not weights of an inference graph (ignored when binding). */
export function isIgnoredStateName(name: string): boolean {
  return name.endsWith(".num_batches_tracked") || name === "num_batches_tracked";
}

function isFloat(t: LoadedTensor): boolean {
  return t.data instanceof Float32Array || t.data instanceof Float64Array;
}

/**
 * Compare the graph's params/state (by `value.name`, PyTorch layout: dense weight [out, in],
 * conv2d weight [O, C/groups, kh, kw], batchnorm running_mean [C], ...) with `loaded`.
 * Problems come in graph order (missing, shape, dtype), then extras in file order.
 * `*.num_batches_tracked` entries are ignored.
 */
export function checkWeights(graph: Graph, loaded: ReadonlyMap<string, LoadedTensor>): WeightProblem[] {
  const problems: WeightProblem[] = [];
  const wanted = new Set<string>();
  for (const v of paramValues(graph)) {
    const name = v.name ?? v.id;
    wanted.add(name);
    const expected = v.type.shape.map((d) => (typeof d === "number" ? d : -1));
    const t = loaded.get(name);
    if (!t) problems.push({ kind: "missing", name, expected });
    else if (!sameShape(t.shape, expected)) problems.push({ kind: "shape", name, expected, got: [...t.shape] });
    else if (!isFloat(t)) problems.push({ kind: "dtype", name, expected, got: [...t.shape], gotDType: t.dtype ?? "integer" });
  }
  for (const [name, t] of loaded)
    if (!wanted.has(name) && !isIgnoredStateName(name)) problems.push({ kind: "extra", name, got: [...t.shape] });
  return problems;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** One line of the E0601 message per problem, aligned. */
export function formatWeightProblems(problems: readonly WeightProblem[]): string[] {
  const width = Math.max(0, ...problems.map((p) => p.name.length));
  return problems.map((p) => {
    const name = p.name.padEnd(width);
    switch (p.kind) {
      case "missing": return `missing  ${name}  expected ${showShape(p.expected!)}, not in the weights`;
      case "extra": return `extra    ${name}  got ${showShape(p.got!)}, not a parameter of the model`;
      case "shape": return `shape    ${name}  expected ${showShape(p.expected!)}, got ${showShape(p.got!)}`;
      case "dtype": return `dtype    ${name}  expected f32, got ${p.gotDType}`;
    }
  });
}

/** At most this many "declared here" notes on the E0601 diagnostic. */
const MAX_RELATED = 4;

function hintFor(problems: readonly WeightProblem[]): string | undefined {
  const missing = problems.filter((p) => p.kind === "missing").map((p) => p.name);
  const extra = problems.filter((p) => p.kind === "extra").map((p) => p.name);
  for (const prefix of ["module.", "model."]) {
    if (missing.length > 0 && missing.every((m) => extra.includes(prefix + m)))
      return `the weights' names start with '${prefix}' (saved from a wrapper); strip it from the state_dict keys`;
  }
  const transposed = problems.find(
    (p) => p.kind === "shape" && p.got!.length === 2 && p.expected!.length === 2 && p.got![0] === p.expected![1] && p.got![1] === p.expected![0],
  );
  if (transposed) return `'${transposed.name}' looks transposed: dense weights are [out, in] as in torch.nn.Linear`;
  const grouped = problems.find(
    (p) => p.kind === "shape" && p.got!.length === 4 && p.expected!.length === 4 && p.got![0] === p.expected![0] && p.got![1] !== p.expected![1],
  );
  if (grouped) return `'${grouped.name}': conv2d weights are [O, C/groups, kh, kw] as in torch.nn.Conv2d; check 'groups' and the input channels`;
  for (const m of missing) {
    const near = nearestNames(m, extra, 1);
    if (near.length > 0) return `'${m}' is missing but the weights have '${near[0]}': is the layer named differently?`;
  }
  return undefined;
}

/**
 * Bind `loaded` tensors to the graph's params/state. On success returns a WeightMap holding
 * exactly the graph's params (f32, PyTorch layout, by state_dict name) and no diagnostics.
 * Otherwise returns ONE E0601 error whose message lists every problem: missing (name, expected
 * shape), extra (name, got shape), mis-shaped (name, expected, got) and non-float tensors;
 * `related` points at the declaring layers of the mismatched params (one note per layer, at most 4);
 * the hint names a common cause ('module.' prefix, transposed dense weight, conv groups, renamed layer). `*.num_batches_tracked` is ignored.
 */
export function bindWeights(graph: Graph, loaded: ReadonlyMap<string, LoadedTensor>): { weights?: WeightMap; diagnostics: Diagnostic[] } {
  const problems = checkWeights(graph, loaded);
  if (problems.length > 0) {
    const byName = new Map<string, ValueInfo>(paramValues(graph).map((v) => [v.name ?? v.id, v]));
    // one note per declaring layer (params of a layer share its location), at most MAX_RELATED
    const byLoc = new Map<string, { loc: NonNullable<ValueInfo["loc"]>; names: string[] }>();
    for (const p of problems) {
      const loc = byName.get(p.name)?.loc;
      if (!loc) continue;
      const key = `${loc.file}:${loc.line}:${loc.col}`;
      const entry = byLoc.get(key) ?? { loc, names: [] };
      entry.names.push(p.name);
      byLoc.set(key, entry);
    }
    const related: RelatedLoc[] = [...byLoc.values()]
      .slice(0, MAX_RELATED)
      .map(({ loc, names }) => ({ loc, message: `${names.join(", ")} ${names.length === 1 ? "is" : "are"} declared here` }));
    const n = problems.length;
    const message = [`weights do not match the model (${n} problem${n === 1 ? "" : "s"}):`, ...formatWeightProblems(problems).map((l) => "  " + l)].join("\n");
    const hint = hintFor(problems);
    return { diagnostics: [diag("E0601", message, undefined, { ...(hint ? { hint } : {}), ...(related.length ? { related } : {}) })] };
  }
  const weights: WeightMap = new Map();
  for (const v of paramValues(graph)) {
    const name = v.name ?? v.id;
    const t = loaded.get(name)!;
    const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
    weights.set(name, { shape: [...t.shape], data });
  }
  return { weights, diagnostics: [] };
}
