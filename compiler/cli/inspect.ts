// `modelc inspect FILE|ARTIFACT`: what a model costs: ops with layer names, output shapes, parameters,
// FLOPs, the memory plan; `--ir` dumps the IR JSON, `--svg` draws the graph. Neighbours: check.ts,
// backend/wasm/plan.ts (pure, no binaryen), cli/svg.ts, runtime/sections.ts (artifact manifests).

import { checkSource } from "../check.js";
import { planMemory } from "../backend/wasm/plan.js";
import { planKernels, type KernelPlan } from "../backend/wasm/kernel-plan.js";
import { opList } from "../artifact/op-list.js";
import { numel, showShape } from "../ir/graph.js";
import type { Graph } from "../ir/types.js";
import { parseManifest, readArtifactSections } from "../../runtime/sections.js";
import type { Manifest, ManifestGraph } from "../../runtime/manifest.js";
import { ModelcRuntimeError } from "../../runtime/errors.js";
import { asCompiled, countParameters } from "./check.js";
import { EXIT_OK, EXIT_USER, UserError, formatBytes, formatCount, isWasm, printDiagnostics, readUserFile, table, writeUserFile, type CliIo } from "./common.js";

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

/**
 * The op table of an op list (artifact/op-list.ts; a manifest's `graph`): #, op, layer, output (dtype and shape),
 * params, FLOPs per sample and, when `kernels` is true, the kernel column: on a kernel's lead op its variant and,
 * when it runs several ops, their ops joined with "+" ("implicit GEMM: conv2d+relu"); on the others "fused into #i".
 */
export function opTable(list: ManifestGraph, kernels: boolean): string[] {
  const members = new Map<number, string[]>();
  list.ops.forEach((o, i) => {
    if (o.fusedInto !== undefined) members.set(o.fusedInto, [...(members.get(o.fusedInto) ?? [list.ops[o.fusedInto]!.op]), o.op]);
  });
  const kernelText = (i: number): string => {
    const o = list.ops[i]!;
    if (o.fusedInto !== undefined) return `fused into #${o.fusedInto}`;
    const fused = members.get(i);
    return [o.kernel, fused?.join("+")].filter((t) => t !== undefined).join(": ");
  };
  const header = ["#", "op", "layer", "output", "params", "FLOPs", ...(kernels ? ["kernel"] : [])];
  const rows = list.ops.map((o, i) => [
    String(i), o.op, o.layer ?? "", `${o.dtype}${showShape(o.shape)}`, o.params ? formatCount(o.params) : "", formatCount(o.flops),
    ...(kernels ? [kernelText(i)] : []),
  ]);
  return table(header, rows, new Set([0, 4, 5]));
}

/** "kernels: 8 for 11 ops (3 run fused into another op's kernel)" for an op list with fusion info. */
function kernelSummary(list: ManifestGraph): string {
  const fused = list.ops.filter((o) => o.fusedInto !== undefined).length;
  return `kernels: ${list.ops.length - fused} for ${list.ops.length} ops${fused ? ` (${fused} run fused into another op's kernel)` : ""}`;
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
  // the backend's kernels only for the graph it compiles (fusion of the as-written graph would mean nothing)
  const kernels: KernelPlan | undefined = stage?.stage === "written" ? undefined : planKernels(graph);
  const list = opList(graph, kernels);
  const lines = [`model ${graph.name}${stage ? ` (${STAGE_NOTE[stage.stage]})` : ""}`];
  for (const i of graph.inputs) lines.push(`  input  ${i.name}: ${graph.values[i.value]!.type.dtype}${showShape(graph.values[i.value]!.type.shape)}`);
  for (const o of graph.outputs) lines.push(`  output ${o.name}: ${graph.values[o.value]!.type.dtype}${showShape(graph.values[o.value]!.type.shape)}`);
  lines.push("");
  lines.push(...opTable(list, kernels !== undefined));
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
  lines.push(`ops: ${list.ops.length}${other}   parameters: ${params}   weights: ${formatBytes(weightElems * 4)} (f32)`);
  if (kernels) lines.push(kernelSummary(list));
  lines.push(`FLOPs per sample: ${formatCount(list.ops.reduce((s, r) => s + r.flops, 0))}`);
  // as compiled: the plan of the lowered graph, as the artifact's manifest records it
  const plan = planMemory(kernels ? kernels.lowered : graph);
  lines.push(
    `memory per sample: ${formatCount(plan.bytesPerSample)} bytes planned (${formatCount(plan.unsharedBytesPerSample)} without reuse), ` +
      `${Object.values(plan.values).filter((v) => v.inPlaceOf !== undefined).length} computed in place, scratch ${formatCount(plan.scratchBytes)} bytes per batch`,
  );
  return lines;
}

/**
 * Text report of a compiled artifact's manifest: I/O, modules, weights, the op table as compiled (with the kernel
 * each op runs in) when the manifest has its op list (`graph`; older artifacts do not, and the report says how to
 * get it), the weight tensors, totals and memory.
 */
export function manifestReport(m: Manifest, variant?: string): string[] {
  const io = (s: Manifest["inputs"][number]): string =>
    `${s.name}: ${s.dtype}[${s.shape.join(", ")}]${s.range ? `, ids in [${s.range[0]}, ${s.range[1]})${s.rangeOf !== undefined ? ` (rows of ${s.rangeOf})` : ""}` : ""}`;
  const lines = [`artifact ${m.name} (modelc ${m.compilerVersion}${variant ? `, ${variant} module` : ""})`];
  for (const s of m.inputs) lines.push(`  input  ${io(s)}`);
  for (const s of m.outputs) lines.push(`  output ${io(s)}`);
  lines.push(`modules: ${[m.modules.simd, m.modules.relaxed, m.modules.scalar].filter(Boolean).join(", ")}`);
  lines.push(`weights: ${m.weights.tensors.length} tensors, ${formatBytes(m.weights.bytes)}, ${m.weights.embedded ? "embedded" : `in ${m.weights.file}`}`);
  lines.push("");
  // an op list of a later layout (graph.version > 1) is not guessed at
  const graph = m.graph?.version === 1 && Array.isArray(m.graph.ops) ? m.graph : undefined;
  if (graph) lines.push(...opTable(graph, true), "");
  const layout = (t: Manifest["weights"]["tensors"][number]): string => (t.layout ? `${t.layout.kind} ${t.layout.panel}` : "row-major");
  lines.push(...table(["tensor", "shape", "offset", "layout"], m.weights.tensors.map((t) => [t.name, `[${t.shape.join(", ")}]`, String(t.offset), layout(t)]), new Set([2])));
  lines.push("");
  lines.push(`ops: ${m.cost.ops}   FLOPs per sample: ${formatCount(m.cost.flopsPerSample)}`);
  if (graph) lines.push(kernelSummary(graph));
  else if (m.graph)
    lines.push(`(this artifact's op list has layout version ${JSON.stringify((m.graph as { version?: unknown }).version)}, newer than this modelc reads; run \`modelc inspect\` on its .model file)`);
  else lines.push("(this artifact carries no op list: an older modelc compiled it; recompile it, or run `modelc inspect` on its .model file)");
  lines.push(`memory: activations from ${m.memory.activationBase}, ${formatCount(m.memory.bytesPerSample)} bytes per sample, ${m.memory.initialPages} initial pages`);
  return lines;
}

/**
 * Why a text file given to inspect is none of what it takes, as "this JavaScript file", or undefined when it may be
 * one: a `.json` file that parses to an object with `format` or `modules` (a manifest, maybe a broken one) or is
 * named NAME.manifest.json; a `.model` file; a file of another name whose text starts (after blank lines and `#`/`//`
 * comments) with `model` or `block`. JavaScript (.js/.mjs/.cjs), TypeScript (.ts, .d.ts) and other JSON are refused
 * by name, any other text by content.
 */
function notInspectable(file: string, text: string): string | undefined {
  if (file.endsWith(".json")) {
    if (file.endsWith(".manifest.json")) return undefined;
    try {
      const j: unknown = JSON.parse(text);
      if (typeof j === "object" && j !== null && ("format" in j || "modules" in j)) return undefined;
    } catch {
      return "this .json file (not valid JSON)";
    }
    return "this JSON file";
  }
  if (file.endsWith(".model")) return undefined;
  if (/\.d\.[mc]?ts$/.test(file)) return "this TypeScript declaration file";
  if (/\.[mc]?ts$/.test(file)) return "this TypeScript file";
  if (/\.[mc]?js$/.test(file)) return "this JavaScript file";
  return /^(?:\s|(?:#|\/\/)[^\n\r]*)*(?:model|block)\b/.test(text) ? undefined : "this text file (it does not start with `model` or `block`)";
}

/**
 * Run `modelc inspect`. A `.model` file: the graph as compiled (check, inference passes, batchnorm folding: the
 * artifact's ops and FLOPs) or with `--no-opt` as written, then the op table saying which stage it is (or `--ir`
 * JSON; `--svg` writes a drawing, of the same graph). A wasm module (by its bytes, whatever its name) or a
 * `.json` manifest: manifestReport. Returns 0, or 1 on diagnostics errors. Throws UserError for unreadable, binary
 * (neither module nor text) or invalid files, for files that are none of the three (JavaScript, TypeScript, other
 * JSON, text that does not start like a .model source: see notInspectable) and for `--ir`, `--svg`, `--no-opt` or `--model` on an artifact.
 */
export async function inspectCommand(file: string, options: InspectCommandOptions, io: CliIo): Promise<number> {
  const bytes = await readUserFile(file, "file");
  // a module is an artifact whatever its name (and a .wasm file that is no module is a broken one); a manifest by its name
  const wasm = isWasm(bytes) || file.endsWith(".wasm");
  const binary = !wasm && bytes.subarray(0, 8192).includes(0);
  const text = wasm || binary ? "" : new TextDecoder().decode(bytes);
  const notModel = wasm || binary ? undefined : notInspectable(file, text);
  if (notModel)
    throw new UserError(`cannot inspect '${file}': ${notModel} is not a .model source, a .wasm artifact or its manifest.json; inspect takes a .model file, NAME.wasm or NAME.manifest.json`);
  if (wasm || file.endsWith(".json")) {
    const modelOnly = [options.ir && "--ir", options.svg !== undefined && "--svg", options.opt === false && "--no-opt", options.model !== undefined && "--model"].filter(
      (f): f is string => typeof f === "string",
    );
    if (modelOnly.length > 0)
      throw new UserError(`${modelOnly.join(" and ")} need${modelOnly.length === 1 ? "s" : ""} a .model file; '${file}' is a compiled artifact, shown as compiled`);
    try {
      if (wasm) {
        const { manifest, variant } = readArtifactSections(bytes);
        for (const l of manifestReport(manifest, variant)) io.out(l);
      } else for (const l of manifestReport(parseManifest(text, `'${file}'`))) io.out(l);
    } catch (e) {
      // parseManifest's messages name the file already ("bad manifest in 'x.json': ..."), a module's do not
      if (e instanceof ModelcRuntimeError) throw new UserError(wasm ? `'${file}': ${e.message}` : e.message);
      throw e;
    }
    return EXIT_OK;
  }
  if (binary) throw new UserError(`cannot inspect '${file}': it holds binary data; inspect takes a .model file, NAME.wasm or NAME.manifest.json`);
  const source = text;
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
    await writeUserFile(options.svg, graphToSvg(graph), "SVG file");
    (options.ir ? io.err : io.out)(`wrote ${options.svg}`); // keep stdout pure JSON with --ir
  }
  return EXIT_OK;
}
