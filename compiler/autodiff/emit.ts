// GraphEmitter: appends typed nodes, consts, inputs and state values to an EXISTING graph (GraphBuilder
// only builds new ones). Neighbours: autodiff/grad.ts, rules.ts, train-forward.ts, optimizer.ts use it.

import type { Attrs, DType, Dim, Graph, InitSpec, Node, NodeMode, TensorType } from "../ir/types.js";
import { getOp } from "../ir/ops/index.js";

/**
 * Emits into `graph` in place (callers clone first). Fresh ids use `prefix` ("g" by default: values
 * g0, g1, ..., nodes gn0, ...) and skip ids already present, so they never collide with lowering's ids.
 * Output types come from the op table's `infer`, so emitted nodes are well-typed by construction;
 * `infer` errors (OpTypeError) propagate: they mean a gradient rule is wrong, not a user error.
 */
export class GraphEmitter {
  private next = 0;
  private readonly nodeIds: Set<string>;

  constructor(
    readonly graph: Graph,
    private readonly prefix = "g",
    /** Mode given to emitted nodes; default "train". */
    private readonly mode: NodeMode = "train",
  ) {
    this.nodeIds = new Set(graph.nodes.map((n) => n.id));
  }

  /** A value or node id not yet used in the graph. */
  fresh(kind: "v" | "n" | "c" = "v"): string {
    for (;;) {
      const id = `${this.prefix}${kind === "v" ? "" : kind}${this.next++}`;
      if (!(id in this.graph.values) && !this.nodeIds.has(id)) return id;
    }
  }

  /** Type of a value (throws on an unknown id). */
  typeOf(id: string): TensorType {
    const v = this.graph.values[id];
    if (!v) throw new Error(`GraphEmitter: unknown value ${id}`);
    return v.type;
  }

  /**
   * Make a node (typed by the op's `infer`) and its output values WITHOUT placing it in `graph.nodes`;
   * `outputIds` reuses given ids for outputs (their values are overwritten with the inferred types).
   */
  make(op: string, inputs: string[], attrs: Attrs = {}, outputIds: (string | undefined)[] = []): Node {
    const def = getOp(op);
    if (!def) throw new Error(`GraphEmitter: unknown op ${op}`);
    const types = def.infer(inputs.map((i) => this.typeOf(i)), attrs);
    const outputs = types.map((type, k) => {
      const id = outputIds[k] ?? this.fresh("v");
      this.graph.values[id] = { id, kind: "activation", type };
      return id;
    });
    const n: Node = { id: this.fresh("n"), op, inputs: [...inputs], outputs, attrs: { ...attrs } };
    if (this.mode !== "both") n.mode = this.mode;
    this.nodeIds.add(n.id);
    return n;
  }

  /** Append a node at the end of the graph; returns its output value ids. */
  node(op: string, inputs: string[], attrs: Attrs = {}): string[] {
    const n = this.make(op, inputs, attrs);
    this.graph.nodes.push(n);
    return n.outputs;
  }

  /** Append a node with one output and return that output's id. */
  node1(op: string, inputs: string[], attrs: Attrs = {}): string {
    return this.node(op, inputs, attrs)[0]!;
  }

  /** A constant value (row-major data). */
  constant(shape: number[], data: number[], dtype: DType = "f32"): string {
    const id = this.fresh("c");
    this.graph.values[id] = { id, kind: "const", type: { dtype, shape: [...shape] }, data: [...data] };
    return id;
  }

  /** A graph input with exactly `shape` (no batch dim added; scalars are [1]). Reuses an input of that name. */
  input(name: string, dtype: DType, shape: Dim[]): string {
    const prev = this.graph.inputs.find((i) => i.name === name);
    if (prev) return prev.value;
    const id = this.fresh("v");
    this.graph.values[id] = { id, kind: "input", name, type: { dtype, shape: [...shape] } };
    this.graph.inputs.push({ name, value: id });
    return id;
  }

  /** A new state tensor (f32, static shape) with its state_dict name, e.g. "fc.weight.exp_avg". */
  state(name: string, shape: number[], init: InitSpec = { kind: "zeros" }): string {
    const id = this.fresh("v");
    this.graph.values[id] = { id, kind: "state", name, init, type: { dtype: "f32", shape: [...shape] } };
    return id;
  }

  /** Mark a value as a named graph output (replacing an output of the same name). */
  output(name: string, value: string): void {
    const prev = this.graph.outputs.find((o) => o.name === name);
    if (prev) prev.value = value;
    else this.graph.outputs.push({ name, value });
  }
}
