// `modelc eval ARTIFACT [--data mnist|mnist_vqa(seed=N)|FILE] [--model-file FILE.model]`: accuracy, mean
// cross-entropy loss on the logits, and the confusion matrix of a compiled classifier on a labelled data set
// (a split of it, as the training run made it), per head for a multi-output model, each against its target.
// Neighbours: cli/main.ts registers it; runtime/index.ts loads the artifact; cli/eval-data.ts picks the data,
// derived fields and targets; data/* read and split the data.

import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { ModelcRuntimeError, type IoSpec } from "../../runtime/index.js";
import { type Dataset, type Field, fieldOf } from "../data/dataset.js";
import { toF32, toI32 } from "../data/labels.js";
import { splitDataset } from "../data/split.js";
import { parseSafetensors } from "../weights/safetensors.js";
import { parseJson } from "../train/checkpoint.js";
import type { TrainDataSpec, TrainDerivedField, TrainSplitSpec } from "../train/spec.js";
import { loadArtifact } from "./load.js";
import { EXIT_OK, UserError, table, type CliIo } from "./common.js";
import {
  addEvalDerived, describeDataSpec, fieldsText, findModelFile, type HeadTarget, loadDataArg, loadRunData, type LoadedData, modelDir,
  readTrainedFrom, type TrainedFrom, trainedHeads,
} from "./eval-data.js";
import { firstOutOfRange } from "../ir/id-ranges.js";

/** Options of `modelc eval` (CLI flags in brackets). */
export interface EvalCommandOptions {
  /**
   * [--data mnist|mnist_vqa(seed=N)|FILE] the data: a built-in source or a .npz / .safetensors / .csv file.
   * Default: the training run's data source (the checkpoint's config next to the artifact, else --model-file's).
   */
  data?: string;
  /**
   * [--model-file FILE.model] the file the artifact was trained from: its train section gives the data
   * source, the derived fields (`field odd = relabel(...)`) and each output's target (accuracy metrics, then
   * cross-entropy losses). Default: the checkpoint config's `model_file` when it names one.
   */
  modelFile?: string;
  /**
   * [--split test|validation|train|all] which part: the named split is recomputed from the training run's
   * checkpoint.safetensors next to the artifact (its split sizes and seed). Default: "test" when that
   * checkpoint exists, else "all".
   */
  split?: "test" | "validation" | "train" | "all";
  /** [--label FIELD] the i32 class-index field (default: the output's target in the train section, else "label"; for CSV the label column). */
  label?: string;
  /** [--output NAME] one logits output [N, C] (default: every output the train section scores, else the first output of rank 2). */
  output?: string;
  /** [--json] print one JSON object instead of text. */
  json?: boolean;
  /** [--batch-size N] samples per run call. Default 256. */
  batchSize?: number;
}

/** One head's scores: output `output` against field `target`. */
export interface HeadReport {
  output: string;
  target: string;
  samples: number;
  /** Fraction of samples whose argmax (first maximum) is the label. */
  accuracy: number;
  /** Mean cross entropy of softmax(logits) against the labels (float64 log-sum-exp). */
  loss: number;
  /** confusion[true][predicted] = count; classes 0..C-1. */
  confusion: number[][];
}

/** What `modelc eval` computes: the first head's scores at the top level (one head: the only one), all in `heads`. */
export interface EvalReport extends HeadReport {
  split: string;
  data: string;
  /** The .model file whose train section gave the targets and derived fields (--model-file or found). */
  modelFile?: string;
  heads: HeadReport[];
}

/** Settings of the training run, read from the checkpoint's `config` metadata (train/driver.ts runConfig). */
interface RunConfig {
  data: TrainDataSpec;
  split: TrainSplitSpec;
  seed: number;
  /** Present when the driver stores them (newer checkpoints). */
  derived?: TrainDerivedField[];
  model_file?: string;
  losses?: string[];
  /** Model inputs the run fed as zeros (`modelc train --ablate`); eval feeds zeros too. */
  ablate?: string[];
}

function readRunConfig(artifact: string): RunConfig | undefined {
  const path = join(dirname(artifact), "checkpoint.safetensors");
  if (!existsSync(path)) return undefined;
  try {
    const meta = parseSafetensors(new Uint8Array(readFileSync(path))).metadata;
    return JSON.parse(parseJson<string>(meta["config"] ?? "null")) as RunConfig;
  } catch (e) {
    throw new UserError(`cannot read the training settings from '${path}': ${(e as Error).message}`);
  }
}

/** The data field feeding model input `spec`: the run's field mapping, the same name, or the one field of its shape. */
function inputField(ds: Dataset, spec: IoSpec, fields: Record<string, string>, exclude: ReadonlySet<string>, hint: string): Field {
  const name = fields[spec.name] ?? spec.name;
  const sample = spec.shape.slice(1).join(",");
  if (Object.prototype.hasOwnProperty.call(ds.fields, name)) return ds.fields[name]!;
  const fits = Object.entries(ds.fields).filter(([n, f]) => !exclude.has(n) && f.shape.join(",") === sample && f.dtype === spec.dtype);
  if (fits.length === 1) return fits[0]![1];
  throw new UserError(`no data field for model input '${spec.name}' ${spec.dtype} [${spec.shape.slice(1).join(", ")}] per sample; the data has: ${fieldsText(ds)}${hint}`);
}

/** One head for evaluateHeads: output name, its class count and the i32 labels it is scored against. */
export interface HeadInput {
  output: string;
  target: string;
  classes: number;
  labels: Int32Array;
}

/**
 * Evaluate a loaded model on `inputs`: run it in batches (once per batch for all heads), then per head the
 * accuracy, mean cross entropy and confusion matrix of its output ([N, C] logits) against its labels.
 * Errors: UserError for a label outside [0, C) (naming the sample, field and output).
 */
export function evaluateHeads(
  run: (inputs: Record<string, Float32Array | Int32Array>, batch: number) => Record<string, Float32Array>,
  inputs: Record<string, Field>,
  heads: readonly HeadInput[],
  count: number,
  batchSize: number,
): HeadReport[] {
  const acc = heads.map((h) => ({ confusion: Array.from({ length: h.classes }, () => new Array<number>(h.classes).fill(0)), correct: 0, lossSum: 0 }));
  for (let start = 0; start < count; start += batchSize) {
    const b = Math.min(batchSize, count - start);
    const batch: Record<string, Float32Array | Int32Array> = {};
    for (const [name, f] of Object.entries(inputs)) {
      const size = f.shape.reduce((a, d) => a * d, 1);
      batch[name] = f.data.subarray(start * size, (start + b) * size);
    }
    const outs = run(batch, b);
    heads.forEach((h, k) => {
      const logits = outs[h.output]!;
      const a = acc[k]!;
      const classes = h.classes;
      for (let r = 0; r < b; r++) {
        const y = h.labels[start + r]!;
        if (!(y >= 0 && y < classes))
          throw new UserError(`sample ${start + r} has label ${y} in '${h.target}', outside [0, ${classes}) of output '${h.output}'`);
        let best = 0;
        let m = -Infinity;
        for (let c = 0; c < classes; c++) {
          const v = logits[r * classes + c]!;
          if (v > logits[r * classes + best]!) best = c;
          if (v > m) m = v;
        }
        let s = 0;
        for (let c = 0; c < classes; c++) s += Math.exp(logits[r * classes + c]! - m);
        a.lossSum += m + Math.log(s) - logits[r * classes + y]!;
        a.confusion[y]![best]!++;
        if (best === y) a.correct++;
      }
    });
  }
  return heads.map((h, k) => ({
    output: h.output,
    target: h.target,
    samples: count,
    accuracy: count > 0 ? acc[k]!.correct / count : NaN,
    loss: count > 0 ? acc[k]!.lossSum / count : NaN,
    confusion: acc[k]!.confusion,
  }));
}

/**
 * Evaluate one [N, C] output `run` returns against the i32 `labels` (evaluateHeads with one head).
 * Errors: UserError for labels outside [0, C).
 */
export function evaluateClassifier(
  run: (inputs: Record<string, Float32Array | Int32Array>, batch: number) => Float32Array,
  inputs: Record<string, Field>,
  labels: Int32Array,
  classes: number,
  batchSize: number,
): Pick<HeadReport, "samples" | "accuracy" | "loss" | "confusion"> {
  const [r] = evaluateHeads((b, n) => ({ logits: run(b, n) }), inputs, [{ output: "logits", target: "label", classes, labels }], labels.length, batchSize);
  return { samples: r!.samples, accuracy: r!.accuracy, loss: r!.loss, confusion: r!.confusion };
}

/** The confusion matrix as text rows: true class down, predicted across, with totals and recall. */
export function confusionTable(confusion: number[][]): string[] {
  const C = confusion.length;
  const header = ["true \\ pred", ...Array.from({ length: C }, (_, c) => String(c)), "total", "recall"];
  const rows = confusion.map((row, t) => {
    const total = row.reduce((a, b) => a + b, 0);
    return [String(t), ...row.map(String), String(total), total > 0 ? `${((100 * row[t]!) / total).toFixed(1)}%` : "-"];
  });
  return table(header, rows, new Set(Array.from({ length: C + 2 }, (_, i) => i + 1)));
}

const SOURCE_HINT = "--model-file FILE.model (the file it was trained from: its train section names each output's target and derived fields)";

/**
 * Which heads to score (spec: one per accuracy metric / cross-entropy loss on an output, each with its
 * target; `--output` picks one and keeps its target; `--label` picks the output scored against that field).
 */
function chooseHeads(classifiers: readonly IoSpec[], options: EvalCommandOptions, trained: TrainedFrom | undefined, all: readonly IoSpec[], defaultTarget: string): HeadTarget[] {
  const pairs = trained ? trainedHeads(trained, new Set(classifiers.map((o) => o.name))) : [];
  if (options.output !== undefined) {
    const out = all.find((o) => o.name === options.output);
    if (!out) throw new UserError(`no output '${options.output}'; outputs: ${all.map((o) => o.name).join(", ")}`);
    if (!(out.shape.length === 2 && out.dtype === "f32")) throw new UserError(`output '${out.name}' is ${out.dtype} [${out.shape.join(", ")}], not [N, C] f32 logits`);
    if (options.label !== undefined) return [{ output: out.name, target: options.label, via: "flag" }];
    const pair = pairs.find((p) => p.output === out.name);
    return [pair ?? { output: out.name, target: defaultTarget, via: "default" }];
  }
  if (classifiers.length === 0) throw new UserError("the model has no [N, C] f32 output to read logits from (use --output)");
  if (options.label !== undefined) {
    const pair = pairs.find((p) => p.target === options.label);
    return [{ output: pair?.output ?? classifiers[0]!.name, target: options.label, via: "flag" }];
  }
  if (pairs.length > 0) return pairs;
  return [{ output: classifiers[0]!.name, target: defaultTarget, via: "default" }];
}

/**
 * Run `modelc eval`: load the artifact, the run's settings (checkpoint config next to it, --model-file's
 * train section) and the data (with the derived fields), pick the split, run the model, print accuracy, loss
 * and the confusion matrix per head (or `--json`). Returns 0. Throws UserError for an unloadable artifact,
 * unreadable data, a missing label or input field (saying which flag to pass), a label outside an output's
 * classes, a model without an [N, C] output, or a split without the run's checkpoint.
 */
export async function evalCommand(artifact: string, options: EvalCommandOptions, io: CliIo): Promise<number> {
  const model = await loadArtifact(artifact, { simd: "auto" });
  const config = readRunConfig(artifact);
  let modelFile = options.modelFile;
  if (modelFile === undefined && config?.model_file !== undefined) {
    const f = isAbsolute(config.model_file) || existsSync(config.model_file) ? config.model_file : join(dirname(artifact), config.model_file);
    if (existsSync(f)) modelFile = f;
  }
  // Not given: the one .model file (next to the artifact or under the working directory) with this model
  // and the run's data and losses.
  const found = modelFile === undefined ? findModelFile(model.name, dirname(artifact), config) : undefined;
  if (found !== undefined) modelFile = found;
  const trained = modelFile !== undefined ? await readTrainedFrom(modelFile, model.name) : undefined;
  const runData = config?.data ?? trained?.spec.data;
  const split = options.split ?? (config ? "test" : "all");

  let loaded: LoadedData;
  if (options.data !== undefined) loaded = await loadDataArg(options.data, runData, options.label);
  else if (runData) loaded = await loadRunData(runData, modelDir(modelFile));
  else throw new UserError(`no --data, and no training run settings next to '${artifact}' (checkpoint.safetensors) or --model-file: pass --data mnist|mnist_vqa|FILE`);
  const derived = trained?.spec.derived ?? config?.derived ?? [];
  const withDerived = addEvalDerived(loaded.ds, derived);
  let ds = withDerived.ds;
  if (split !== "all") {
    if (!config) throw new UserError(`--split ${split} needs the training run's checkpoint.safetensors next to '${artifact}' (for its split and seed); use --split all`);
    try {
      ds = splitDataset(ds, { train: config.split.train, validation: config.split.validation, test: config.split.test }, config.seed)[split];
    } catch (e) {
      throw new UserError(`cannot split the data as the training run did: ${(e as Error).message}`);
    }
  }

  // Which data the run used, for hints when this data lacks a field.
  const sameData = !runData || (runData.source === loaded.source && (runData.source !== "mnist_vqa" || (runData.seed ?? 0) === loaded.seed));
  const runHint = runData && !sameData && runData.path === undefined && runData.paths === undefined
    ? `; the training run used ${describeDataSpec(runData)}: pass --data ${runData.source === "mnist_vqa" ? `"mnist_vqa(seed=${runData.seed ?? 0})"` : runData.source} or leave --data out`
    : runData && !sameData ? `; the training run used ${describeDataSpec(runData)}` : "";
  // Without a train section: mnist_vqa's target is its yes/no answer; otherwise "label".
  const defaultTarget = loaded.source === "mnist_vqa" ? "answer" : "label";
  const classifiers = model.outputs.filter((o) => o.shape.length === 2 && o.dtype === "f32");
  const targets = chooseHeads(classifiers, options, trained, model.outputs, defaultTarget);
  const exclude = new Set([...targets.map((t) => t.target), ...derived.map((d) => d.name)]);
  const inputs: Record<string, Field> = {};
  for (const spec of model.inputs) {
    const f = inputField(ds, spec, runData?.fields ?? {}, exclude, runHint);
    inputs[spec.name] = spec.dtype === "i32" ? toI32(f) : toF32(f);
    if (config?.ablate?.includes(spec.name)) {
      const x = inputs[spec.name]!;
      inputs[spec.name] = { ...x, data: x.dtype === "i32" ? new Int32Array(x.data.length) : new Float32Array(x.data.length) };
    }
    // Ids of an embedding: name the sample (Model.run would only know the position within a batch).
    const bad = spec.range ? firstOutOfRange(inputs[spec.name]!.data, spec.shape.slice(1) as number[], spec.range[0], spec.range[1]) : undefined;
    if (bad)
      throw new UserError(
        `input '${spec.name}': value ${bad.value} at [${bad.at.join(", ")}] is outside [${spec.range![0]}, ${spec.range![1]})${spec.rangeOf !== undefined ? ` (embedding '${spec.rangeOf}' has ${spec.range![1]} rows)` : ""}`,
      );
  }
  const heads: HeadInput[] = targets.map((t) => {
    const out = model.outputs.find((o) => o.name === t.output)!;
    const classes = out.shape[1] as number;
    let field: Field;
    try {
      field = toI32(fieldOf(ds, t.target));
    } catch (e) {
      const from = withDerived.skipped.get(t.target);
      if (from !== undefined) throw new UserError(`target '${t.target}' of output '${t.output}' is derived from '${from}', which the data lacks; it has: ${fieldsText(ds)}${runHint}`);
      const flag = trained ? (t.via === "flag" ? "" : "; pass --label FIELD") : t.via === "flag" ? `; a derived field (\`field ${t.target} = ...\` in the train section) needs ${SOURCE_HINT}` : `; pass --label FIELD, or ${SOURCE_HINT}`;
      throw new UserError(`no field '${t.target}' for the target of output '${t.output}' (the data has: ${fieldsText(ds)})${flag}${runHint}`);
    }
    const labels = field.data as Int32Array;
    const bad = labels.findIndex((y) => !(y >= 0 && y < classes));
    if (bad >= 0) {
      const others = classifiers.length > 1 ? ` (outputs: ${classifiers.map((o) => `${o.name} [${o.shape[1]}]`).join(", ")})` : "";
      const flag = t.via === "flag" ? "" : trained ? `; pass --label FIELD with this output's target` : `; pass --label FIELD with this output's target, or ${SOURCE_HINT}`;
      throw new UserError(`sample ${bad} has label ${labels[bad]} in '${t.target}', outside the ${classes} classes [0, ${classes}) of output '${t.output}'${others}${flag}`);
    }
    return { output: t.output, target: t.target, classes, labels };
  });

  const names = heads.map((h) => h.output);
  const results = evaluateHeads(
    (b, n) => {
      const r = model.run(b, { batch: n });
      return Object.fromEntries(names.map((o) => [o, r[o] as Float32Array]));
    },
    inputs, heads, ds.count, options.batchSize ?? 256,
  );
  const report: EvalReport = { ...results[0]!, split, data: loaded.text, heads: results, ...(modelFile !== undefined ? { modelFile } : {}) };
  if (options.json) {
    io.out(JSON.stringify(report));
    return EXIT_OK;
  }
  const notes = (): void => {
    if (modelFile !== undefined) io.out(`targets from ${modelFile}${found !== undefined ? " (found; --model-file picks another)" : ""}`);
    if (config?.ablate?.length) io.out(`ablated as in training (zeros): ${config.ablate.join(", ")}`);
  };
  const pct = (h: HeadReport): string => `${(100 * h.accuracy).toFixed(2)}% (${Math.round(h.accuracy * h.samples)}/${h.samples})`;
  if (results.length === 1) {
    const h = results[0]!;
    io.out(`${model.name} on ${loaded.text} (${split}, ${h.samples} samples, output '${h.output}')`);
    notes();
    io.out(`target    ${h.target}`);
    io.out(`accuracy  ${pct(h)}`);
    io.out(`loss      ${h.loss.toFixed(4)} (mean cross entropy on the logits)`);
    if (targets[0]!.via === "default" && classifiers.length > 1)
      io.out(`note: ${classifiers.length} [N, C] outputs (${classifiers.map((o) => o.name).join(", ")}); scored only '${h.output}' against '${h.target}': pass ${SOURCE_HINT}, or --output NAME --label FIELD`);
    io.out("");
    for (const line of confusionTable(h.confusion)) io.out(line);
    return EXIT_OK;
  }
  io.out(`${model.name} on ${loaded.text} (${split}, ${ds.count} samples, ${results.length} heads)`);
  notes();
  for (const line of table(["output", "target", "classes", "accuracy", "loss"], results.map((h) => [h.output, h.target, String(h.confusion.length), pct(h), h.loss.toFixed(4)]), new Set([2, 3, 4]))) io.out(line);
  for (const h of results) {
    io.out("");
    io.out(`${h.output} (target ${h.target}):`);
    for (const line of confusionTable(h.confusion)) io.out(line);
  }
  return EXIT_OK;
}
