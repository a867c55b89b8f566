// `modelc inspect FILE|ARTIFACT`: what a model costs: ops with layer names, output shapes, parameters,
// FLOPs, the memory plan; `--ir` dumps the IR JSON, `--svg` draws the graph. Neighbours: check.ts,
// backend/wasm/plan.ts (pure, no binaryen), cli/svg.ts, runtime/sections.ts (artifact manifests).

import { checkSource } from "../check.js";
import { planMemory } from "../backend/wasm/plan.js";
import { getOp } from "../ir/ops/index.js";
import { numel, showShape } from "../ir/graph.js";
import type { Graph } from "../ir/types.js";
import { writeFileAtomic } from "../io/atomic.js";
import { parseManifest, readArtifactSections } from "../../runtime/sections.js";
import type { Manifest } from "../../runtime/manifest.js";
import { ModelcRuntimeError } from "../../runtime/errors.js";
import { asCompiled, countParameters } from "./check.js";
import { EXIT_OK, EXIT_USER, UserError, formatBytes, formatCount, printDiagnostics, readUserFile, table, type CliIo } from "./common.js";

/** Options of `modelc inspect`. */
export interface InspectCommandOptions {
  /** [--ir] print the (optimized) IR as JSON instead of the table. */
  ir?: boolean;
  /** [--svg OUT.svg] also write a drawing of the graph. */
  svg?: string;
  /** [--model NAME] which model of the file. */
  model?: string;
  /**
   * [--no-opt] false: show the graph as written (lowered, before any pass). Default true: the graph as compiled,
   * after the inference passes and the weight passes' rewrites (batchnorm folding), with the artifact's ops and FLOPs.
   */
  opt?: boolean;
}

/** One row of the op table: per-sample numbers (batch 1). */
export interface OpRow {
  index: number;
  op: string;
  layer: string;
  shape: string;
  params: number;
  flops: number;
}

/** The op table of a graph (FLOPs from each op's cost rule at batch 1; params = numel of param/state inputs). */
export function opRows(graph: Graph): OpRow[] {
  return graph.nodes.map((n, index) => {
    const ins = n.inputs.map((i) => graph.values[i]!);
    const params = ins.filter((v) => v.kind === "param" || v.kind === "state").reduce((s, v) => s + numel(v.type.shape as number[]), 0);
    const def = getOp(n.op);
    const flops = def ? def.cost(ins.map((v) => v.type), n.outputs.map((o) => graph.values[o]!.type), n.attrs, 1).flops : 0;
    return { index, op: n.op, layer: n.layer ?? "", shape: n.outputs.map((o) => showShape(graph.values[o]!.type.shape)).join(", "), params, flops };
  });
}

/**
 * Which graph a report shows: `stage` "compiled" (as the artifact runs it) or "written" (as lowered from the
 * source), `otherOps` the op count of the other stage, `paramsOf` the graph whose parameters the totals count
 * (state_dict names: for "compiled", the graph before batchnorm folding, whose tensors are the model's own).
 * The "compiled" totals lead with the compiled graph's weight count (what the params column sums) and give the
 * as-written count beside it, e.g. `parameters: 206,922 as compiled (207,018 as written, + 96 state)`.
 */
export interface ReportStage {
  stage: "compiled" | "written";
  otherOps: number;
  paramsOf: Graph;
  /** Weight elements (params and state) of the graph as compiled: what the artifact stores (for "written"). */
  compiledWeights: number;
}

/** Elements of all params and state of `graph` (the weights an artifact of it stores; symbolic dims count 1). */
function weightCount(graph: Graph): number {
  return Object.values(graph.values)
    .filter((v) => v.kind === "param" || v.kind === "state")
    .reduce((s, v) => s + numel(v.type.shape.map((d) => (typeof d === "number" ? d : 1))), 0);
}

const STAGE_NOTE = {
  compiled: "graph as compiled: after the inference passes and batchnorm folding, as the artifact runs it; --no-opt shows it as written",
  written: "graph as written: lowered from the source, before the inference passes and batchnorm folding",
};

/**
 * Text report of a graph: op table, totals, memory plan (per sample) and weight bytes (of `graph`). With `stage`,
 * the first line says which graph this is and the totals line gives the other stage's op count.
 */
export function graphReport(graph: Graph, stage?: ReportStage): string[] {
  const rows = opRows(graph);
  const lines = [`model ${graph.name}${stage ? ` (${STAGE_NOTE[stage.stage]})` : ""}`];
  for (const i of graph.inputs) lines.push(`  input  ${i.name}: ${graph.values[i.value]!.type.dtype}${showShape(graph.values[i.value]!.type.shape)}`);
  for (const o of graph.outputs) lines.push(`  output ${o.name}: ${graph.values[o.value]!.type.dtype}${showShape(graph.values[o.value]!.type.shape)}`);
  lines.push("");
  lines.push(
    ...table(
      ["#", "op", "layer", "output shape", "params", "FLOPs"],
      rows.map((r) => [String(r.index), r.op, r.layer, r.shape, r.params ? formatCount(r.params) : "", formatCount(r.flops)]),
      new Set([0, 4, 5]),
    ),
  );
  const weightElems = weightCount(graph);
  lines.push("");
  const pg = stage?.paramsOf ?? graph;
  const trainable = countParameters(pg);
  const state = Object.values(pg.values).filter((v) => v.kind === "param" || v.kind === "state").reduce((s, v) => s + numel(v.type.shape as number[]), 0) - trainable;
  const other = stage ? ` (${formatCount(stage.otherOps)} ${stage.stage === "compiled" ? "as written" : "as compiled"})` : "";
  const stateNote = state ? `+ ${formatCount(state)} state` : "";
  let params: string;
  if (stage?.stage === "compiled" && (weightElems !== trainable || state)) {
    // the params column sums the compiled graph's weights (batchnorm folded into the convs): lead with that count
    params = `${formatCount(weightElems)} as compiled (${formatCount(trainable)} as written${state ? `, ${stateNote}` : ""})`;
  } else {
    const notes = [
      ...(state ? [`${stateNote}, e.g. running statistics${pg === graph ? "; the params column counts both" : ""}`] : []),
      ...(stage?.stage === "written" && stage.compiledWeights !== trainable + state ? [`${formatCount(stage.compiledWeights)} as compiled`] : []),
    ];
    params = `${formatCount(trainable)}${stage?.stage === "written" && notes.length ? " as written" : ""}${notes.length ? ` (${notes.join("; ")})` : ""}`;
  }
  lines.push(`ops: ${rows.length}${other}   parameters: ${params}   weights: ${formatBytes(weightElems * 4)} (f32)`);
  lines.push(`FLOPs per sample: ${formatCount(rows.reduce((s, r) => s + r.flops, 0))}`);
  const plan = planMemory(graph);
  lines.push(
    `memory per sample: ${formatCount(plan.bytesPerSample)} bytes planned (${formatCount(plan.unsharedBytesPerSample)} without reuse), ` +
      `${Object.values(plan.values).filter((v) => v.inPlaceOf !== undefined).length} computed in place, scratch ${formatCount(plan.scratchBytes)} bytes per batch`,
  );
  return lines;
}

/** Text report of a compiled artifact's manifest. */
export function manifestReport(m: Manifest, variant?: string): string[] {
  const io = (s: Manifest["inputs"][number]): string =>
    `${s.name}: ${s.dtype}[${s.shape.join(", ")}]${s.range ? `, ids in [${s.range[0]}, ${s.range[1]})${s.rangeOf !== undefined ? ` (rows of ${s.rangeOf})` : ""}` : ""}`;
  const lines = [`artifact ${m.name} (modelc ${m.compilerVersion}${variant ? `, ${variant} module` : ""})`];
  for (const s of m.inputs) lines.push(`  input  ${io(s)}`);
  for (const s of m.outputs) lines.push(`  output ${io(s)}`);
  lines.push(`modules: ${[m.modules.simd, m.modules.relaxed, m.modules.scalar].filter(Boolean).join(", ")}`);
  lines.push(`weights: ${m.weights.tensors.length} tensors, ${formatBytes(m.weights.bytes)}, ${m.weights.embedded ? "embedded" : `in ${m.weights.file}`}`);
  lines.push("");
  const layout = (t: Manifest["weights"]["tensors"][number]): string => (t.layout ? `${t.layout.kind} ${t.layout.panel}` : "row-major");
  lines.push(...table(["tensor", "shape", "offset", "layout"], m.weights.tensors.map((t) => [t.name, `[${t.shape.join(", ")}]`, String(t.offset), layout(t)]), new Set([2])));
  lines.push("");
  lines.push(`ops: ${m.cost.ops}   FLOPs per sample: ${formatCount(m.cost.flopsPerSample)}`);
  lines.push(`memory: activations from ${m.memory.activationBase}, ${formatCount(m.memory.bytesPerSample)} bytes per sample, ${m.memory.initialPages} initial pages`);
  return lines;
}

/**
 * Run `modelc inspect`. A `.model` file: the graph as compiled (check, inference passes, batchnorm folding: the
 * artifact's ops and FLOPs) or with `--no-opt` as written, then the op table saying which stage it is (or `--ir`
 * JSON; `--svg` writes a drawing, of the same graph). A `.wasm` or `.manifest.json`: the manifest summary.
 * Returns 0, or 1 on diagnostics errors. Throws UserError for unreadable/invalid files and for
 * `--ir`/`--svg` on an artifact.
 */
export async function inspectCommand(file: string, options: InspectCommandOptions, io: CliIo): Promise<number> {
  const bytes = await readUserFile(file, "file");
  if (file.endsWith(".wasm") || file.endsWith(".json")) {
    if (options.ir || options.svg) throw new UserError(`--ir and --svg need a .model file; '${file}' is a compiled artifact`);
    try {
      if (file.endsWith(".wasm")) {
        const { manifest, variant } = readArtifactSections(bytes);
        for (const l of manifestReport(manifest, variant)) io.out(l);
      } else for (const l of manifestReport(parseManifest(new TextDecoder().decode(bytes), file))) io.out(l);
    } catch (e) {
      if (e instanceof ModelcRuntimeError) throw new UserError(`${file}: ${e.message}`);
      throw e;
    }
    return EXIT_OK;
  }
  const source = new TextDecoder().decode(bytes);
  const r = checkSource(source, file, options.model !== undefined ? { model: options.model } : {});
  if (printDiagnostics(io, r.diagnostics, { [file]: source }) || !r.graph) return EXIT_USER;
  // the graph as compiled: compile()'s optimizeGraph + optimizeWithWeights, whose rewrites need no weight values here
  const { optimized, compiled } = asCompiled(r.graph);
  const written = options.opt === false;
  const graph = written ? r.graph : compiled;
  const stage: ReportStage = written
    ? { stage: "written", otherOps: compiled.nodes.length, paramsOf: r.graph, compiledWeights: weightCount(compiled) }
    : { stage: "compiled", otherOps: r.graph.nodes.length, paramsOf: optimized, compiledWeights: weightCount(compiled) };
  if (options.ir) io.out(JSON.stringify(graph, null, 2));
  else for (const l of graphReport(graph, stage)) io.out(l);
  if (options.svg) {
    const { graphToSvg } = await import("./svg.js");
    await writeFileAtomic(options.svg, graphToSvg(graph)).catch((e: Error) => {
      throw new UserError(`cannot write '${options.svg}': ${e.message}`);
    });
    (options.ir ? io.err : io.out)(`wrote ${options.svg}`); // keep stdout pure JSON with --ir
  }
  return EXIT_OK;
}
