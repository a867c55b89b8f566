// What `modelc eval` evaluates on: the data (`--data mnist | mnist_vqa(seed=N) | FILE`, or the training
// run's data source), the train section's derived fields, and which target field each classifier output
// (head) is scored against (the train section's accuracy metrics, then its cross-entropy losses).
// Neighbours: cli/eval.ts (the command), train/data.ts (loadTrainData), data/derived.ts, frontend via check.ts.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, extname, isAbsolute, join, resolve } from "node:path";
import { checkSource } from "../check.js";
import { hasErrors } from "../diagnostics.js";
import { type Dataset, shapeText } from "../data/dataset.js";
import { addDerivedFields } from "../data/derived.js";
import { mnistDataset } from "../data/mnist.js";
import { readCsvDataset, readNpzDataset, readSafetensorsDataset } from "../data/sources.js";
import { mnistVqaDataset } from "../data/vqa.js";
import { loadTrainData } from "../train/data.js";
import type { TrainDataSpec, TrainDerivedField, TrainSpec } from "../train/spec.js";
import { readUserFile, readUserText, UserError } from "./common.js";

/** `--data` parsed: a built-in source (with its keyword arguments) or a file. */
export type DataArg = { kind: "mnist" } | { kind: "mnist_vqa"; seed?: number } | { kind: "file"; path: string };

const BUILTIN = /^\s*([A-Za-z_]\w*)\s*(?:\(\s*(.*?)\s*\))?\s*$/;

/**
 * Parse `--data`: `mnist`, `mnist()`, `mnist_vqa`, `mnist_vqa(seed=3)` (also `mnist_vqa(3)`), else a file
 * path. Errors (UserError): an unknown argument or a bad seed of a built-in source; a bare word that is
 * neither a built-in source nor an existing file.
 */
export function parseDataArg(arg: string): DataArg {
  const m = BUILTIN.exec(arg);
  if (m && (m[1] === "mnist" || m[1] === "mnist_vqa")) {
    const args = (m[2] ?? "").split(",").map((a) => a.trim()).filter((a) => a !== "");
    if (m[1] === "mnist") {
      if (args.length) throw new UserError(`--data ${arg}: mnist() takes no arguments`);
      return { kind: "mnist" };
    }
    let seed: number | undefined;
    for (const a of args) {
      const kv = /^(?:seed\s*=\s*)?(-?\d+)$/.exec(a);
      if (!kv) throw new UserError(`--data ${arg}: mnist_vqa takes only seed=N (an integer), got '${a}'`);
      seed = Number(kv[1]);
    }
    return seed === undefined ? { kind: "mnist_vqa" } : { kind: "mnist_vqa", seed };
  }
  if (m && m[2] !== undefined) throw new UserError(`--data ${arg}: unknown data source '${m[1]}()'; built in are mnist and mnist_vqa(seed=N), or pass a .npz, .safetensors or .csv file`);
  if (extname(arg) === "" && !existsSync(arg))
    throw new UserError(`--data ${arg}: not a data source nor a file; expected mnist, mnist_vqa(seed=N), or a .npz, .safetensors or .csv file`);
  return { kind: "file", path: arg };
}

/** The data source of a TrainSpec as text: `mnist_vqa(seed=0)`, `csv("d.csv", label="y")`. */
export function describeDataSpec(d: TrainDataSpec): string {
  const args: string[] = [];
  if (d.path !== undefined) args.push(JSON.stringify(d.path));
  for (const [k, v] of Object.entries(d.paths ?? {})) args.push(`${k}=${JSON.stringify(v)}`);
  if (d.label !== undefined) args.push(`label=${JSON.stringify(d.label)}`);
  if (d.seed !== undefined) args.push(`seed=${d.seed}`);
  for (const [k, v] of Object.entries(d.fields ?? {})) args.push(`${k}=${JSON.stringify(v)}`);
  return `${d.source}(${args.join(", ")})`;
}

/** Data for eval: the samples, how to name them, and their source ("file" for a --data file). */
export interface LoadedData {
  ds: Dataset;
  text: string;
  source: TrainDataSpec["source"] | "file";
  seed?: number;
}

/** Built-in or file data for `--data` (`run`: the training run's data spec, for mnist_vqa's seed and a CSV's label column). */
export async function loadDataArg(arg: string, run: TrainDataSpec | undefined, label: string | undefined): Promise<LoadedData> {
  const d = parseDataArg(arg);
  try {
    if (d.kind === "mnist") return { ds: mnistDataset(), text: "mnist", source: "mnist" };
    if (d.kind === "mnist_vqa") {
      // A bare `mnist_vqa` takes the run's seed (the questions and answers depend on it).
      const seed = d.seed ?? (run?.source === "mnist_vqa" ? (run.seed ?? 0) : 0);
      return { ds: mnistVqaDataset({ seed }), text: `mnist_vqa(seed=${seed})`, source: "mnist_vqa", seed };
    }
    const bytes = await readUserFile(d.path, "data file");
    const ext = extname(d.path).toLowerCase();
    if (ext === ".npz") return { ds: readNpzDataset(bytes), text: d.path, source: "file" };
    if (ext === ".safetensors") return { ds: readSafetensorsDataset(bytes), text: d.path, source: "file" };
    if (ext === ".csv") {
      const column = label ?? (run?.source === "csv" ? run.label : undefined) ?? "label";
      return { ds: readCsvDataset(new TextDecoder().decode(bytes), { header: true, label: column }), text: d.path, source: "file" };
    }
    throw new UserError(`--data '${d.path}': expected mnist, mnist_vqa(seed=N), or a .npz, .safetensors or .csv file`);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`--data ${arg}: ${(e as Error).message}`);
  }
}

/**
 * The training run's own data (no `--data`): `run` read relative to `baseDir` (the .model file's directory).
 * Errors (UserError): a relative data file without a known .model directory that does not exist from here.
 */
export async function loadRunData(run: TrainDataSpec, baseDir: string | undefined): Promise<LoadedData> {
  const text = describeDataSpec(run);
  const files = [run.path, ...Object.values(run.paths ?? {})].filter((p): p is string => p !== undefined);
  if (baseDir === undefined) {
    const missing = files.find((p) => !isAbsolute(p) && !existsSync(p));
    if (missing !== undefined)
      throw new UserError(`the training run read ${text}, relative to its .model file: pass --model-file FILE.model (the file it was trained from) or --data FILE`);
  }
  try {
    return { ds: await loadTrainData(run, baseDir ?? "."), text, source: run.source, ...(run.source === "mnist_vqa" ? { seed: run.seed ?? 0 } : {}) };
  } catch (e) {
    throw new UserError(`cannot read the training run's data ${text}: ${(e as Error).message}`);
  }
}

/** The train section of the .model file an artifact was compiled from, with output names for its value ids. */
export interface TrainedFrom {
  file: string;
  spec: TrainSpec;
  /** value id -> model output name. */
  outputs: Map<string, string>;
}

/**
 * Read `file` and take the train section of model `name` (the artifact's model). Errors (UserError): an
 * unreadable file, errors in it, no such model, no train section.
 */
export async function readTrainedFrom(file: string, name: string): Promise<TrainedFrom> {
  const source = await readUserText(file, "model file");
  const checked = checkSource(source, file, { model: name });
  if (hasErrors(checked.diagnostics) || !checked.graph) {
    const first = checked.diagnostics.find((d) => d.severity === "error");
    throw new UserError(`--model-file ${file}: ${first ? first.message : "does not check"}${/model/i.test(first?.message ?? "") ? "" : ` (model '${name}')`}; run \`modelc check ${file}\``);
  }
  if (checked.graph.name !== name) throw new UserError(`--model-file ${file} has no model '${name}' (the artifact's model)`);
  if (!checked.train) throw new UserError(`--model-file ${file}: model '${name}' has no train { ... } section`);
  return { file, spec: checked.train, outputs: new Map(checked.graph.outputs.map((o) => [o.value, o.name])) };
}

/**
 * `ds` plus the derived fields whose source it has (in order, so a later one may read an earlier one);
 * returns the names left out (source missing) with their source. Errors (UserError): a value outside a
 * relabel table, a non-integer or multi-value source.
 */
export function addEvalDerived(ds: Dataset, derived: readonly TrainDerivedField[]): { ds: Dataset; skipped: Map<string, string> } {
  const skipped = new Map<string, string>();
  for (const d of derived) {
    if (!Object.prototype.hasOwnProperty.call(ds.fields, d.source)) {
      skipped.set(d.name, d.source);
      continue;
    }
    try {
      ds = addDerivedFields(ds, [d]);
    } catch (e) {
      throw new UserError(`derived ${(e as Error).message}`);
    }
  }
  return { ds, skipped };
}

/** One classifier output and the field it is scored against; `via` says where the pairing came from. */
export interface HeadTarget {
  output: string;
  target: string;
  via: "metric" | "loss" | "flag" | "default";
}

/**
 * (output, target) pairs of a train section, for the artifact's [N, C] f32 outputs: each accuracy metric,
 * then each cross_entropy loss of an output no metric covers; one per output, in that order.
 */
export function trainedHeads(t: TrainedFrom, classifierOutputs: ReadonlySet<string>): HeadTarget[] {
  const out: HeadTarget[] = [];
  const seen = new Set<string>();
  const add = (value: string, target: string, via: HeadTarget["via"]): void => {
    const output = t.outputs.get(value);
    if (output === undefined || !classifierOutputs.has(output) || seen.has(output)) return;
    seen.add(output);
    out.push({ output, target, via });
  };
  for (const m of t.spec.metrics) if (m.kind === "accuracy") add(m.input, m.target, "metric");
  for (const l of t.spec.losses) if (l.op === "cross_entropy") add(l.input, l.target, "loss");
  return out;
}

/** Fields of `ds` as text: `image f32 [1, 28, 28], label i32 []`. */
export function fieldsText(ds: Dataset): string {
  return Object.entries(ds.fields).map(([n, f]) => `${n} ${f.dtype} ${shapeText(f.shape)}`).join(", ");
}

/** The .model file's directory, for data paths relative to it. */
export function modelDir(file: string | undefined): string | undefined {
  return file === undefined ? undefined : dirname(file) || ".";
}

const SKIP_DIRS = new Set(["node_modules", ".git", "dist", "out"]);

/** `.model` files under `dir`, `depth` levels deep at most (skipping node_modules, .git, dist, out). */
function modelFilesUnder(dir: string, depth: number, out: string[]): void {
  let entries: import("node:fs").Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (e.isFile() && e.name.endsWith(".model")) out.push(join(dir, e.name));
    else if (e.isDirectory() && depth > 0 && !SKIP_DIRS.has(e.name) && !e.name.startsWith(".")) modelFilesUnder(join(dir, e.name), depth - 1, out);
  }
}

/**
 * Find the .model file a run trained (when --model-file is not given): among the .model files next to the
 * artifact and in the working directory (two levels down), the ones defining model `name` with a train
 * section whose data source and loss names are the run's (`run`, from the checkpoint config). Returns the
 * one match, else undefined (none, or several that fit).
 */
export function findModelFile(name: string, artifactDir: string, run: { data?: TrainDataSpec; losses?: string[] } | undefined): string | undefined {
  const files: string[] = [];
  modelFilesUnder(artifactDir, 0, files);
  modelFilesUnder(".", 2, files);
  const decl = new RegExp(`\\bmodel\\s+${name.replace(/[^\w]/g, "")}\\s*\\{`);
  const fits = new Set<string>();
  const seen = new Set<string>();
  for (const f of files) {
    const key = resolve(f);
    if (seen.has(key)) continue;
    seen.add(key);
    let source: string;
    try {
      source = readFileSync(f, "utf8");
    } catch {
      continue;
    }
    if (!decl.test(source)) continue;
    const checked = checkSource(source, f, { model: name });
    if (!checked.train || checked.graph?.name !== name) continue;
    if (run?.data && JSON.stringify(checked.train.data) !== JSON.stringify(run.data)) continue;
    if (run?.losses && JSON.stringify(checked.train.losses.map((l) => l.name)) !== JSON.stringify(run.losses)) continue;
    fits.add(f);
  }
  return fits.size === 1 ? [...fits][0] : undefined;
}
