// Building and walking graphs: GraphBuilder (used by lowering, tests and the fuzzer) and small
// queries (producers, consumers, concrete shapes). Neighbours: ir/types.ts, ir/ops/index.ts.

import type { Attrs, Dim, Graph, InitSpec, Node, NodeMode, SourceLoc, TensorType, ValueInfo } from "./types.js";
import { getOp } from "./ops/index.js";

/**
 * Incrementally builds a Graph in topological order. Types of node outputs come from the op
 * table's `infer` rule, so a graph built here is well-typed by construction.
 * Errors: `node()` rethrows the op's OpTypeError for callers (lowering) to turn into diagnostics.
 */
export class GraphBuilder {
  private readonly g: Graph;
  private next = 0;

  constructor(name: string) {
    this.g = { irVersion: 1, name, inputs: [], outputs: [], values: {}, nodes: [] };
  }

  private fresh(prefix: string): string {
    return `${prefix}${this.next++}`;
  }

  /** Add a graph input; `shape` is per-sample (the batch dim "N" is prepended). Returns the value id. */
  input(name: string, dtype: TensorType["dtype"], shape: number[], loc?: SourceLoc): string {
    const id = this.fresh("v");
    this.g.values[id] = { id, kind: "input", name, type: { dtype, shape: ["N", ...shape] }, ...(loc ? { loc } : {}) };
    this.g.inputs.push({ name, value: id });
    return id;
  }

  /** Add a parameter or state tensor (f32, static shape) with its state_dict name. */
  param(name: string, shape: number[], init: InitSpec, kind: "param" | "state" = "param", loc?: SourceLoc): string {
    const id = this.fresh("p");
    this.g.values[id] = { id, kind, name, init, type: { dtype: "f32", shape: [...shape] }, ...(loc ? { loc } : {}) };
    return id;
  }

  /** Add a small constant tensor (row-major data). */
  constant(shape: number[], data: number[], dtype: TensorType["dtype"] = "f32"): string {
    const id = this.fresh("c");
    this.g.values[id] = { id, kind: "const", type: { dtype, shape: [...shape] }, data: [...data] };
    return id;
  }

  /** Type of a value (throws on an unknown id: a builder misuse, not a user error). */
  typeOf(id: string): TensorType {
    const v = this.g.values[id];
    if (!v) throw new Error(`GraphBuilder: unknown value ${id}`);
    return v.type;
  }

  /**
   * Append a node; output types come from the op's `infer`. Returns the output value ids.
   * Throws OpTypeError from `infer` (nothing is added then).
   */
  node(op: string, inputs: string[], attrs: Attrs, extra: { layer?: string; loc?: SourceLoc; mode?: NodeMode } = {}): string[] {
    const def = getOp(op);
    if (!def) throw new Error(`GraphBuilder: unknown op ${op}`);
    const outTypes = def.infer(inputs.map((i) => this.typeOf(i)), attrs);
    const outputs = outTypes.map((type) => {
      const id = this.fresh("v");
      const info: ValueInfo = { id, kind: "activation", type, ...(extra.loc ? { loc: extra.loc } : {}) };
      this.g.values[id] = info;
      return id;
    });
    const n: Node = { id: this.fresh("n"), op, inputs: [...inputs], outputs, attrs: { ...attrs } };
    if (extra.layer !== undefined) n.layer = extra.layer;
    if (extra.loc !== undefined) n.loc = extra.loc;
    if (extra.mode !== undefined && extra.mode !== "both") n.mode = extra.mode;
    this.g.nodes.push(n);
    return outputs;
  }

  /** Mark a value as a named graph output. */
  output(name: string, value: string): void {
    this.g.outputs.push({ name, value });
  }

  /** The graph built so far (not copied). */
  build(): Graph {
    return this.g;
  }
}

/** Replace "N" by a concrete batch size. */
export function concreteShape(shape: readonly Dim[], batch: number): number[] {
  return shape.map((d) => (d === "N" ? batch : d));
}

/** Number of elements of a concrete shape. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Elements per sample of a type: product of all dims except a leading "N". */
export function elementsPerSample(t: TensorType): number {
  let n = 1;
  for (const d of t.shape) if (d !== "N") n *= d;
  return n;
}

/** Format a type's shape like `[N, 32, 14, 14]`. */
export function showShape(shape: readonly Dim[]): string {
  return `[${shape.join(", ")}]`;
}

/** Map value id -> the node producing it (graph inputs, params and consts have none). */
export function producers(g: Graph): Map<string, Node> {
  const m = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) m.set(o, n);
  return m;
}

/** Map value id -> nodes consuming it, in graph order. */
export function consumers(g: Graph): Map<string, Node[]> {
  const m = new Map<string, Node[]>();
  for (const n of g.nodes)
    for (const i of n.inputs) {
      const list = m.get(i);
      if (list) list.push(n);
      else m.set(i, [n]);
    }
  return m;
}

/** Parameter and state values in graph order of first use. */
export function paramValues(g: Graph): ValueInfo[] {
  return Object.values(g.values).filter((v) => v.kind === "param" || v.kind === "state");
}
