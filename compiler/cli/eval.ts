// `modelc eval ARTIFACT --data mnist|FILE`: accuracy, mean cross-entropy loss on the logits, and the confusion
// matrix of a compiled classifier on a labelled data set (a split of it, as the training run made it).
// Neighbours: cli/main.ts registers it; runtime/index.ts loads the artifact; data/* read and split the data.

import { existsSync, readFileSync } from "node:fs";
import { dirname, extname, join } from "node:path";
import { loadModel, ModelcRuntimeError, type IoSpec } from "../../runtime/index.js";
import { type Dataset, type Field, fieldOf, shapeText } from "../data/dataset.js";
import { toF32, toI32 } from "../data/labels.js";
import { mnistDataset } from "../data/mnist.js";
import { readCsvDataset, readNpzDataset, readSafetensorsDataset } from "../data/sources.js";
import { splitDataset } from "../data/split.js";
import { parseSafetensors } from "../weights/safetensors.js";
import { parseJson } from "../train/checkpoint.js";
import type { TrainDataSpec, TrainSplitSpec } from "../train/spec.js";
import { EXIT_OK, UserError, readUserFile, table, type CliIo } from "./common.js";
import { firstOutOfRange } from "../ir/id-ranges.js";

/** Options of `modelc eval` (CLI flags in brackets). */
export interface EvalCommandOptions {
  /** [--data mnist|FILE] the data: the built-in MNIST digits, or a .npz / .safetensors / .csv file. */
  data: string;
  /**
   * [--split test|validation|train|all] which part: the named split is recomputed from the training run's
   * checkpoint.safetensors next to the artifact (its split sizes and seed). Default: "test" when that
   * checkpoint exists, else "all".
   */
  split?: "test" | "validation" | "train" | "all";
  /** [--label FIELD] the i32 class-index field (default "label"; for CSV the label column). */
  label?: string;
  /** [--output NAME] the logits output [N, C] (default: the first output of rank 2). */
  output?: string;
  /** [--json] print one JSON object instead of text. */
  json?: boolean;
  /** [--batch-size N] samples per run call. Default 256. */
  batchSize?: number;
}

/** What `modelc eval` computes. */
export interface EvalReport {
  samples: number;
  /** Fraction of samples whose argmax (first maximum) is the label. */
  accuracy: number;
  /** Mean cross entropy of softmax(logits) against the labels (float64 log-sum-exp). */
  loss: number;
  /** confusion[true][predicted] = count; classes 0..C-1. */
  confusion: number[][];
  split: string;
  output: string;
}

/** Settings of the training run, read from the checkpoint's `config` metadata (train/driver.ts runConfig). */
interface RunConfig {
  data: TrainDataSpec;
  split: TrainSplitSpec;
  seed: number;
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

async function loadData(data: string, label: string | undefined): Promise<Dataset> {
  try {
    if (data === "mnist") return mnistDataset();
    const bytes = await readUserFile(data, "data file");
    const ext = extname(data).toLowerCase();
    if (ext === ".npz") return readNpzDataset(bytes);
    if (ext === ".safetensors") return readSafetensorsDataset(bytes);
    if (ext === ".csv") return readCsvDataset(new TextDecoder().decode(bytes), { header: true, label: label ?? "label" });
    throw new UserError(`--data '${data}': expected mnist, or a .npz, .safetensors or .csv file`);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`--data ${data}: ${(e as Error).message}`);
  }
}

/** The data field feeding model input `spec`: the run's field mapping, the same name, or the one field of its shape. */
function inputField(ds: Dataset, spec: IoSpec, config: RunConfig | undefined, label: string): Field {
  const name = config?.data.fields[spec.name] ?? spec.name;
  const sample = spec.shape.slice(1).join(",");
  if (Object.prototype.hasOwnProperty.call(ds.fields, name)) return ds.fields[name]!;
  const fits = Object.entries(ds.fields).filter(([n, f]) => n !== label && f.shape.join(",") === sample);
  if (fits.length === 1) return fits[0]![1];
  const avail = Object.entries(ds.fields).map(([n, f]) => `${n} ${f.dtype} ${shapeText(f.shape)}`).join(", ");
  throw new UserError(`no data field for model input '${spec.name}' [${spec.shape.join(", ")}]; the data has: ${avail}`);
}

/**
 * Evaluate a loaded model on `ds`: run it in batches, then accuracy, mean cross entropy and the confusion
 * matrix of output `output` ([N, C] logits) against the i32 `labels`. Errors: UserError for labels outside [0, C).
 */
export function evaluateClassifier(
  run: (inputs: Record<string, Float32Array | Int32Array>, batch: number) => Float32Array,
  inputs: Record<string, Field>,
  labels: Int32Array,
  classes: number,
  batchSize: number,
): Omit<EvalReport, "split" | "output"> {
  const n = labels.length;
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let correct = 0;
  let lossSum = 0;
  for (let start = 0; start < n; start += batchSize) {
    const b = Math.min(batchSize, n - start);
    const batch: Record<string, Float32Array | Int32Array> = {};
    for (const [name, f] of Object.entries(inputs)) {
      const size = f.shape.reduce((a, d) => a * d, 1);
      batch[name] = f.data.subarray(start * size, (start + b) * size);
    }
    const logits = run(batch, b);
    for (let r = 0; r < b; r++) {
      const y = labels[start + r]!;
      if (!(y >= 0 && y < classes)) throw new UserError(`sample ${start + r} has label ${y}, outside [0, ${classes})`);
      let best = 0;
      let m = -Infinity;
      for (let c = 0; c < classes; c++) {
        const v = logits[r * classes + c]!;
        if (v > logits[r * classes + best]!) best = c;
        if (v > m) m = v;
      }
      let s = 0;
      for (let c = 0; c < classes; c++) s += Math.exp(logits[r * classes + c]! - m);
      lossSum += m + Math.log(s) - logits[r * classes + y]!;
      confusion[y]![best]!++;
      if (best === y) correct++;
    }
  }
  return { samples: n, accuracy: n > 0 ? correct / n : NaN, loss: n > 0 ? lossSum / n : NaN, confusion };
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

/**
 * Run `modelc eval`: load the artifact and the data, pick the split, run the model, print accuracy, loss and
 * the confusion matrix (or `--json`). Returns 0. Throws UserError for an unloadable artifact, unreadable data,
 * a missing label or input field, a model without an [N, C] output, or a split without the run's checkpoint.
 */
export async function evalCommand(artifact: string, options: EvalCommandOptions, io: CliIo): Promise<number> {
  let model;
  try {
    model = await loadModel(artifact, { simd: "auto" });
  } catch (e) {
    if (e instanceof ModelcRuntimeError) throw new UserError(`cannot load '${artifact}': ${e.message}`);
    throw e;
  }
  const config = readRunConfig(artifact);
  const split = options.split ?? (config ? "test" : "all");
  const label = options.label ?? "label";
  let ds = await loadData(options.data, options.label);
  if (split !== "all") {
    if (!config) throw new UserError(`--split ${split} needs the training run's checkpoint.safetensors next to '${artifact}' (for its split and seed); use --split all`);
    try {
      ds = splitDataset(ds, { train: config.split.train, validation: config.split.validation, test: config.split.test }, config.seed)[split];
    } catch (e) {
      throw new UserError(`cannot split the data as the training run did: ${(e as Error).message}`);
    }
  }
  const out = options.output !== undefined ? model.outputs.find((o) => o.name === options.output) : model.outputs.find((o) => o.shape.length === 2 && o.dtype === "f32");
  if (!out) throw new UserError(options.output !== undefined ? `no output '${options.output}'; outputs: ${model.outputs.map((o) => o.name).join(", ")}` : "the model has no [N, C] f32 output to read logits from (use --output)");
  const classes = out.shape[1] as number;
  let labelField: Field;
  try {
    labelField = toI32(fieldOf(ds, label));
  } catch (e) {
    throw new UserError(`label field: ${(e as Error).message}`);
  }
  const inputs: Record<string, Field> = {};
  for (const spec of model.inputs) {
    const f = inputField(ds, spec, config, label);
    inputs[spec.name] = spec.dtype === "i32" ? toI32(f) : toF32(f);
    // Ids of an embedding: name the sample (Model.run would only know the position within a batch).
    const bad = spec.range ? firstOutOfRange(inputs[spec.name]!.data, spec.shape.slice(1) as number[], spec.range[0], spec.range[1]) : undefined;
    if (bad)
      throw new UserError(
        `input '${spec.name}': value ${bad.value} at [${bad.at.join(", ")}] is outside [${spec.range![0]}, ${spec.range![1]})${spec.rangeOf !== undefined ? ` (embedding '${spec.rangeOf}' has ${spec.range![1]} rows)` : ""}`,
      );
  }
  const report: EvalReport = {
    ...evaluateClassifier((b, n) => model.run(b, { batch: n })[out.name] as Float32Array, inputs, labelField.data as Int32Array, classes, options.batchSize ?? 256),
    split,
    output: out.name,
  };
  if (options.json) {
    io.out(JSON.stringify(report));
    return EXIT_OK;
  }
  io.out(`${model.name} on ${options.data} (${split}, ${report.samples} samples, output '${out.name}')`);
  io.out(`accuracy  ${(100 * report.accuracy).toFixed(2)}% (${Math.round(report.accuracy * report.samples)}/${report.samples})`);
  io.out(`loss      ${report.loss.toFixed(4)} (mean cross entropy on the logits)`);
  io.out("");
  for (const line of confusionTable(report.confusion)) io.out(line);
  return EXIT_OK;
}
