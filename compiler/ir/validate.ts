// Graph validation: JSON Schema (spec/ir.schema.json, ajv) plus the structural invariants the schema
// cannot say. Neighbours: ir/types.ts (Graph), ir/ops/* (arity and infer rules), passes/* (run it in tests).

import { createRequire } from "node:module";
import type { ValidateFunction } from "ajv/dist/2020.js";
import schema from "../../spec/ir.schema.json" with { type: "json" };
import type { Dim, Graph, TensorType } from "./types.js";
import { getOp } from "./ops/index.js";
import { showShape } from "./graph.js";

let compiled: ValidateFunction | undefined;

function sameType(a: TensorType, b: TensorType): boolean {
  return a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((d: Dim, i) => d === b.shape[i]);
}

/**
 * Check a graph (or any parsed JSON) and return one message per problem, [] when valid. Never throws.
 * Checks: the schema; value map keys equal their ids; graph inputs/outputs name existing values
 * (inputs of kind "input"); every node input is defined before use (graph input, param, state, const
 * or an earlier node's output: topological order); every value has at most one producer and node
 * outputs are kind "activation"; the op exists; activation-input count matches its arity plus the
 * params its rule expects; re-running the op's `infer` gives the stored output types; "N" only at axis 0.
 * `options.schema: false` skips the JSON Schema (compiling it with ajv costs about 0.2 s CPU per process):
 * for graphs built by the compiler itself (compile() does this; tests run the full check).
 */
export function validateGraph(g: unknown, options: { schema?: boolean } = {}): string[] {
  if (options.schema !== false) {
    if (!compiled) {
      // ajv is loaded here, on first use, not at import: compile() runs only the structural checks.
      const { Ajv2020 } = createRequire(import.meta.url)("ajv/dist/2020.js") as typeof import("ajv/dist/2020.js");
      compiled = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
    }
    if (!compiled(g))
      return (compiled.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? "is invalid"}`);
  }
  const graph = g as Graph;
  const errs: string[] = [];
  for (const [key, v] of Object.entries(graph.values)) {
    if (v.id !== key) errs.push(`value key ${key} holds id ${v.id}`);
    if (v.type.shape.some((d, i) => d === "N" && i !== 0)) errs.push(`value ${key}: "N" only allowed at axis 0, got ${showShape(v.type.shape)}`);
    if ((v.kind === "param" || v.kind === "state") && v.type.shape.includes("N")) errs.push(`value ${key}: ${v.kind} with batch dim`);
  }
  const defined = new Set<string>();
  for (const v of Object.values(graph.values)) if (v.kind !== "activation" && v.kind !== "input") defined.add(v.id);
  for (const i of graph.inputs) {
    const v = graph.values[i.value];
    if (!v) errs.push(`input '${i.name}' names unknown value ${i.value}`);
    else if (v.kind !== "input") errs.push(`input '${i.name}' value ${i.value} has kind ${v.kind}`);
    defined.add(i.value);
  }
  const producer = new Map<string, string>();
  for (const n of graph.nodes) {
    for (const i of n.inputs) {
      if (!graph.values[i]) errs.push(`node ${n.id} (${n.op}) uses unknown value ${i}`);
      else if (!defined.has(i)) errs.push(`node ${n.id} (${n.op}) uses ${i} before it is defined`);
    }
    for (const o of n.outputs) {
      const prev = producer.get(o);
      if (prev) errs.push(`value ${o} produced by both ${prev} and ${n.id}`);
      producer.set(o, n.id);
      const v = graph.values[o];
      if (!v) errs.push(`node ${n.id} (${n.op}) outputs unknown value ${o}`);
      else if (v.kind !== "activation") errs.push(`node ${n.id} (${n.op}) outputs ${o} of kind ${v.kind}`);
      defined.add(o);
    }
    const def = getOp(n.op);
    if (!def) {
      errs.push(`node ${n.id}: unknown op '${n.op}'`);
      continue;
    }
    const types = n.inputs.map((i) => graph.values[i]?.type);
    if (types.some((t) => !t)) continue;
    const acts = n.inputs.filter((i) => {
      const k = graph.values[i]!.kind;
      return k !== "param" && k !== "state";
    }).length;
    if (def.arity === "variadic" ? acts < 1 : acts > def.arity || acts < (def.minArity ?? def.arity))
      errs.push(`node ${n.id} (${n.op}): ${acts} activation inputs, op takes ${def.arity}`);
    try {
      const want = def.infer(types as TensorType[], n.attrs);
      if (want.length !== n.outputs.length) errs.push(`node ${n.id} (${n.op}): ${n.outputs.length} outputs, rule gives ${want.length}`);
      want.forEach((t, k) => {
        const v = graph.values[n.outputs[k] ?? ""];
        if (v && !sameType(t, v.type))
          errs.push(`node ${n.id} (${n.op}): output ${v.id} stored as ${v.type.dtype}${showShape(v.type.shape)}, rule gives ${t.dtype}${showShape(t.shape)}`);
      });
    } catch (e) {
      errs.push(`node ${n.id} (${n.op}): ${(e as Error).message}`);
    }
  }
  for (const o of graph.outputs) {
    if (!graph.values[o.value]) errs.push(`output '${o.name}' names unknown value ${o.value}`);
    else if (!defined.has(o.value)) errs.push(`output '${o.name}' value ${o.value} is never produced`);
  }
  return errs;
}
