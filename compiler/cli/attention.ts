// `modelc attention MODEL.model --weights W.safetensors --input NAME=FILE.npy -o heat.png`: attention
// heatmaps (queries down, keys across) of a model's multihead_attention layers, computed in float64.
// Neighbours: interp/attention-weights.ts (the weights), cli/heatmap.ts (PNG), cli/run.ts (input parsing).

import { check } from "../index.js";
import { readSafetensors } from "../weights/safetensors.js";
import { bindWeights } from "../weights/bind.js";
import { initWeights } from "../weights/init.js";
import { OPTIM_PREFIX } from "../train/checkpoint.js";
import { attentionLayers, attentionWeights } from "../interp/attention-weights.js";
import type { RefTensor, WeightMap } from "../ir/types.js";
import { renderHeatmap } from "./heatmap.js";
import { conversionNotice, npyToInput, parseInputPairs, readNpyInput } from "./run.js";
import { EXIT_OK, EXIT_USER, UserError, cannotRead, writeUserFile, printDiagnostics, readUserFile, readUserText, type CliIo } from "./common.js";

/** Options of `modelc attention` (CLI flags in brackets). */
export interface AttentionCommandOptions {
  /** [--weights W.safetensors] PyTorch state_dict or a `modelc train` checkpoint (optimizer state ignored); default: seeded init (--seed). */
  weights?: string;
  /** [-i, --input NAME=FILE.npy] one per model input (repeatable; bare FILE.npy for a one-input model). */
  input?: string[];
  /** [-o, --out FILE.png] the image; with several layers and no --layer, FILE.<layer>.png each. Default "attention.png". */
  out?: string;
  /** [--layer NAME] which attention layer (default: every one). */
  layer?: string;
  /** [--sample K] which sample of the batch (default 0). */
  sample?: number;
  /** [--head K] one head instead of the average over heads. */
  head?: number;
  /** [--model NAME] which model of the file. */
  model?: string;
  /** [--seed N] initializer seed without --weights. Default 0. */
  seed?: number;
}

/** `out` with the layer name before the extension, for one image per layer. */
function perLayerPath(out: string, layer: string): string {
  const dot = out.toLowerCase().endsWith(".png") ? out.length - 4 : out.length;
  return `${out.slice(0, dot)}.${layer}${out.slice(dot)}`;
}

/**
 * Run `modelc attention`: check the model, bind weights, read inputs, compute the float64 attention weights
 * and write one heatmap PNG per chosen layer atomically (row i = query i, column j = key j, colour from 0 to
 * the image's largest weight). Returns 0, or 1 on diagnostics. Throws UserError for a model without
 * attention, an unknown layer, a bad --sample/--head, missing or mis-shaped inputs, unreadable files.
 */
export async function attentionCommand(file: string, options: AttentionCommandOptions, io: CliIo): Promise<number> {
  const source = await readUserText(file, "model file");
  const checked = check(source, file, options.model !== undefined ? { model: options.model } : {});
  if (printDiagnostics(io, checked.diagnostics, { [file]: source }) || !checked.graph) return EXIT_USER;
  const graph = checked.graph;
  const layers = attentionLayers(graph);
  if (layers.length === 0) throw new UserError(`${file}: the model has no multihead_attention layer`);
  if (options.layer !== undefined && !layers.includes(options.layer))
    throw new UserError(`no attention layer '${options.layer}'; the model's attention layers are: ${layers.join(", ")}`);

  let weights: WeightMap;
  if (options.weights !== undefined) {
    let loaded;
    try {
      loaded = readSafetensors(await readUserFile(options.weights, "weights file"));
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw new UserError(cannotRead("weights file", options.weights, (e as Error).message));
    }
    // A training checkpoint also holds optimizer state ("optim.*"): not weights of the model.
    const names = new Set(Object.values(graph.values).map((v) => v.name));
    for (const k of [...loaded.keys()]) if (k.startsWith(OPTIM_PREFIX) && !names.has(k)) loaded.delete(k);
    const bound = bindWeights(graph, loaded);
    if (printDiagnostics(io, bound.diagnostics, { [file]: source }) || !bound.weights) return EXIT_USER;
    weights = bound.weights;
  } else weights = initWeights(graph, options.seed ?? 0);

  const specs = graph.inputs.map((gi) => {
    const t = graph.values[gi.value]!.type;
    return { name: gi.name, dtype: t.dtype, shape: [...t.shape] };
  });
  const pairs = parseInputPairs(options.input ?? [], specs.length === 1 ? specs[0]!.name : undefined);
  for (const name of pairs.keys())
    if (!specs.some((s) => s.name === name)) throw new UserError(`unknown input '${name}'; the model's inputs are: ${specs.map((s) => s.name).join(", ")}`);
  const missing = specs.filter((s) => !pairs.has(s.name));
  if (missing.length > 0) throw new UserError(`missing --input for ${missing.map((s) => `'${s.name}' [${s.shape.join(", ")}]`).join(", ")}`);
  const inputs: Record<string, RefTensor> = {};
  let batch: number | undefined;
  let first: { name: string; file: string } | undefined; // the input that set `batch`
  for (const spec of specs) {
    const path = pairs.get(spec.name)!;
    const r = npyToInput(spec as Parameters<typeof npyToInput>[0], await readNpyInput(path, spec.name), path);
    if (r.converted) io.err(conversionNotice(spec.name, path, r.converted));
    if (batch !== undefined && r.batch !== batch)
      throw new UserError(`inputs disagree on the batch size: '${first!.name}' has ${batch} (${first!.file}), '${spec.name}' has ${r.batch} (${path})`);
    if (batch === undefined) first = { name: spec.name, file: path };
    batch = r.batch;
    inputs[spec.name] = { shape: [r.batch, ...(spec.shape.slice(1) as number[])], data: Float64Array.from(r.data) };
  }
  const sample = options.sample ?? 0;
  if (!Number.isInteger(sample) || sample < 0 || sample >= (batch ?? 1))
    throw new UserError(`--sample ${sample} is outside the batch of ${batch ?? 1} (use 0..${(batch ?? 1) - 1})`);

  let maps;
  try {
    maps = attentionWeights(graph, weights, inputs, options.layer !== undefined ? [options.layer] : undefined);
  } catch (e) {
    throw new UserError(`cannot compute the attention weights: ${(e as Error).message}`);
  }
  const out = options.out ?? "attention.png";
  for (const m of maps) {
    if (options.head !== undefined && (!Number.isInteger(options.head) || options.head < 0 || options.head >= m.H))
      throw new UserError(`--head ${options.head} is outside layer '${m.layer}''s ${m.H} heads (use 0..${m.H - 1})`);
    const values =
      options.head === undefined
        ? m.mean.subarray(sample * m.L * m.S, (sample + 1) * m.L * m.S)
        : m.heads.subarray(((sample * m.H + options.head) * m.L) * m.S, ((sample * m.H + options.head + 1) * m.L) * m.S);
    const img = renderHeatmap(values, m.L, m.S);
    const path = maps.length > 1 ? perLayerPath(out, m.layer) : out;
    await writeUserFile(path, img.png, "PNG file");
    const which = options.head === undefined ? `mean of ${m.H} heads` : `head ${options.head} of ${m.H}`;
    io.out(
      `wrote ${path}: layer ${m.layer}, sample ${sample}, ${which}; ${m.L} queries (rows) x ${m.S} keys (columns), ` +
        `${img.cell} px per cell, colour 0 (dark) to ${img.max.toPrecision(3)} (bright)`,
    );
  }
  return EXIT_OK;
}
