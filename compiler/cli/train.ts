// `modelc train FILE`: train a model from its `train { ... }` section (or a --spec JSON), with progress,
// checkpoints (--resume), learning curves, test metrics, and the inference artifact compiled with the trained
// weights. Neighbours: cli/main.ts registers it; train/{build,driver,data,progress}.ts do the work; index.ts compile().

import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { checkSource } from "../check.js";
import { compile } from "../index.js";
import { writeArtifactFiles } from "../artifact/write.js";
import { writeFileAtomic } from "../io/atomic.js";
import type { Graph, WeightMap } from "../ir/types.js";
import { paramValues } from "../ir/graph.js";
import { optimizeGraph } from "../passes/pipeline.js";
import { initWeights } from "../weights/init.js";
import { applyTrainOverrides } from "../frontend/lower-train.js";
import { buildTrainingGraph, TrainSpecError } from "../train/build.js";
import { ReferenceTrainBackend, type TrainBackend } from "../train/backend.js";
import { CHECKPOINT_FILE, CheckpointError, readCheckpointConfig } from "../train/checkpoint.js";
import { SplitError } from "../data/split.js";
import { fieldTypes, loadTrainData, TrainDataLoadError } from "../train/data.js";
import { AblateError, ablateInputs } from "../train/ablate.js";
import { type RunConfig, sameList, train, TrainDataError, TrainDivergedError, type TrainResult } from "../train/driver.js";
import { barReporter, formatMetrics, lineReporter, type ProgressReporter } from "../train/progress.js";
import type { TrainSpec, TrainingGraph } from "../train/spec.js";
import { EXIT_OK, EXIT_USER, UserError, printDiagnostics, readUserFile, readUserText, type CliIo } from "./common.js";
import { addDerivedFields } from "../data/derived.js";
import type { Dataset } from "../data/dataset.js";
import { activeLosses, TrainSelectionError } from "../train/heads.js";
import { readSafetensors, type SafetensorsTensor } from "../weights/safetensors.js";

/** Exit code of a run stopped by SIGINT after writing its checkpoint (128 + SIGINT, as shells report it). */
export const EXIT_INTERRUPTED = 130;

/** Options of `modelc train` (CLI flags in brackets). */
export interface TrainCommandOptions {
  /** [-o DIR] output directory for checkpoint, curves and artifact. Default `out/<model name>`. */
  out?: string;
  /** [--epochs N], [--batch-size N], [--lr X], [--seed N], [--optimizer NAME]: override the train section. */
  epochs?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  optimizer?: string;
  /** [--resume] continue from DIR/checkpoint.safetensors. Default false. */
  resume?: boolean;
  /** [--ablate a,b] feed zeros for these model inputs in training, validation and test (train/ablate.ts). */
  ablate?: string[];
  /** [--heads a,b] train only these losses; [--freeze x,y] / [--trainable x]: which layers train (spec/training.md §1). */
  heads?: string[];
  freeze?: string[];
  trainable?: string[];
  /** [--init FILE.safetensors] initial params/state from a checkpoint or state_dict (optimizer state starts at zero). */
  init?: string;
  /**
   * [--backend wasm|reference] where train steps run: "wasm" (the compiled training module), "reference"
   * (float64 interpreter, slow), or "auto" (default: wasm when that backend is available, else reference).
   */
  backend?: "auto" | "wasm" | "reference";
  /** [--spec FILE.json] a TrainSpec as JSON, used instead of the model's train section. */
  spec?: string;
  /** [--model NAME] which model of the file. */
  model?: string;
  /** [--no-simd] scalar builds only (wasm backend and artifact). Default true. */
  simd?: boolean;
  /** [--progress auto|bar|lines|none] display; "auto" (default) = a bar on a TTY stdout, else lines. */
  progress?: "auto" | "bar" | "lines" | "none";
}

/** Where the command gets its interrupt from; default: SIGINT of this process. */
export interface TrainCommandEnv {
  signal?: AbortSignal;
  /** Whether stdout is a terminal (default process.stdout.isTTY). */
  tty?: boolean;
}

/** The signature backend/wasm/train.ts is expected to export. */
type WasmTrainFactory = (tg: TrainingGraph, weights: WeightMap, options: { simd: boolean }) => TrainBackend | Promise<TrainBackend>;

/** Load backend/wasm/train.ts's factory, or undefined when that module is not part of this build (yet). */
async function wasmFactory(): Promise<WasmTrainFactory | undefined> {
  const url = new URL("../backend/wasm/train.js", import.meta.url);
  if (!existsSync(url) && !existsSync(new URL("../backend/wasm/train.ts", import.meta.url))) return undefined;
  const mod = (await import(url.href)) as { createWasmTrainBackend?: WasmTrainFactory };
  return mod.createWasmTrainBackend;
}

async function createBackend(kind: "auto" | "wasm" | "reference", tg: TrainingGraph, weights: WeightMap, simd: boolean, io: CliIo): Promise<TrainBackend> {
  if (kind === "reference") return new ReferenceTrainBackend(tg, weights);
  const factory = await wasmFactory();
  if (factory) return factory(tg, weights, { simd });
  if (kind === "wasm") throw new UserError("the wasm training backend is not available in this build of modelc (compiler/backend/wasm/train.ts); use --backend reference");
  io.err("note: the wasm training backend is not available; training in the float64 reference interpreter (slow)");
  return new ReferenceTrainBackend(tg, weights);
}

async function readSpecJson(path: string): Promise<TrainSpec> {
  const text = await readUserText(path, "train spec");
  try {
    return JSON.parse(text) as TrainSpec;
  } catch (e) {
    throw new UserError(`--spec ${path}: not valid JSON (${(e as Error).message})`);
  }
}

/** The trained params/state the inference graph keeps (dead-code elimination may drop some). */
function inferenceWeights(graph: Graph, weights: WeightMap): WeightMap {
  const keep = new Set(paramValues(optimizeGraph(graph, { mode: "infer" })).map((v) => v.name ?? v.id));
  return new Map([...weights].filter(([name]) => keep.has(name)));
}

/** The data set with the train section's derived fields added (data/derived.ts); errors as TrainDataError. */
function addDerivedData(data: Dataset, spec: TrainSpec): Dataset {
  try {
    return addDerivedFields(data, spec.derived);
  } catch (e) {
    throw new TrainDataError((e as Error).message);
  }
}

/**
 * Overwrite the params/state of `init` (in place) with the same-named tensors of a safetensors file (a
 * modelc checkpoint or a PyTorch state_dict; `optim.*` and unknown names are ignored). Returns how many were
 * taken and the model tensors the file lacks. Throws UserError on a shape mismatch or when nothing matches.
 */
export function initFrom(init: WeightMap, file: ReadonlyMap<string, SafetensorsTensor>, path: string): { taken: number; missing: string[] } {
  let taken = 0;
  const missing: string[] = [];
  for (const [name, w] of init) {
    const t = file.get(name);
    if (!t) {
      missing.push(name);
      continue;
    }
    if (t.shape.join(",") !== w.shape.join(","))
      throw new UserError(`--init ${path}: '${name}' is [${t.shape.join(", ")}] there, but the model needs [${w.shape.join(", ")}]`);
    init.set(name, { shape: [...w.shape], data: Float32Array.from(t.data as ArrayLike<number | bigint>, (x) => Number(x)) });
    taken++;
  }
  if (taken === 0) throw new UserError(`--init ${path}: no tensor of the model is in the file (model tensors: ${[...init.keys()].slice(0, 6).join(", ")}, ...)`);
  return { taken, missing };
}

/**
 * For --resume: the spec and ablation of the run that wrote `ckpt` where this run leaves them open. An
 * omitted --ablate takes the checkpoint's; omitted --heads, or --freeze and --trainable both omitted, take
 * the checkpoint's selection. `said`: one line naming what was taken (when it changes anything). Settings
 * given that differ are refused later by the driver (train/driver.ts checkResumeConfig). Errors:
 * CheckpointError (no or unreadable checkpoint).
 */
async function restoreRunSettings(ckpt: string, spec: TrainSpec, options: TrainCommandOptions): Promise<{ spec: TrainSpec; ablate: string[] | undefined; said?: string }> {
  let saved: Partial<RunConfig>;
  try {
    saved = JSON.parse(await readCheckpointConfig(ckpt)) as Partial<RunConfig>;
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(`${ckpt}: checkpoint metadata 'config' is not JSON`);
  }
  const out: TrainSpec = structuredClone(spec);
  const taken: string[] = [];
  let ablate = options.ablate;
  if (ablate === undefined && saved.ablate && saved.ablate.length > 0) {
    ablate = [...saved.ablate];
    taken.push(`--ablate ${ablate.join(",")}`);
  }
  if (options.heads === undefined && saved.heads && !sameList(activeLosses(out).map((l) => l.name), saved.heads)) {
    out.heads = [...saved.heads];
    taken.push(`--heads ${saved.heads.join(",")}`);
  }
  if (options.freeze === undefined && options.trainable === undefined && ("freeze" in saved || "trainable" in saved)) {
    const freeze = saved.freeze ?? null;
    const trainable = saved.trainable ?? null;
    if (!sameList(out.freeze ?? null, freeze) || !sameList(out.trainable ?? null, trainable)) {
      delete out.freeze;
      delete out.trainable;
      if (freeze) out.freeze = [...freeze];
      if (trainable) out.trainable = [...trainable];
      taken.push(freeze ? `--freeze ${freeze.join(",")}` : trainable ? `--trainable ${trainable.join(",")}` : "nothing frozen");
    }
  }
  return { spec: out, ablate, ...(taken.length ? { said: `resuming with the checkpoint's ${taken.join(" ")} (not given on the command line; ${ckpt})` } : {}) };
}

/**
 * Run `modelc train`: check the file, take its TrainSpec (or --spec) with the CLI overrides, load the data,
 * build the training graph, train (progress on stdout; checkpoint and curves in DIR each epoch), then write
 * DIR/metrics.json and the inference artifact compiled with the trained weights, and print the test metrics.
 * Returns 0; 1 on diagnostics; 130 when interrupted (SIGINT: a checkpoint is written first; resume with
 * --resume). Throws UserError for unreadable files, a missing train section, bad overrides, data or
 * checkpoints that do not fit.
 */
export async function trainCommand(file: string, options: TrainCommandOptions, io: CliIo, env: TrainCommandEnv = {}): Promise<number> {
  const source = await readUserText(file, "model file");
  const checked = checkSource(source, file, options.model !== undefined ? { model: options.model } : {});
  if (printDiagnostics(io, checked.diagnostics, { [file]: source }) || !checked.graph) return EXIT_USER;
  const graph = checked.graph;
  let spec = options.spec !== undefined ? await readSpecJson(options.spec) : checked.train;
  if (!spec) throw new UserError(`model '${graph.name}' has no train { ... } section (add one, or pass --spec FILE.json)`);
  try {
    spec = applyTrainOverrides(spec, {
      ...(options.epochs !== undefined ? { epochs: options.epochs } : {}),
      ...(options.batchSize !== undefined ? { batch_size: options.batchSize } : {}),
      ...(options.lr !== undefined ? { lr: options.lr } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.optimizer !== undefined ? { optimizer: options.optimizer } : {}),
      ...(options.heads !== undefined ? { heads: options.heads } : {}),
      ...(options.freeze !== undefined ? { freeze: options.freeze } : {}),
      ...(options.trainable !== undefined ? { trainable: options.trainable } : {}),
    });
  } catch (e) {
    throw new UserError((e as Error).message);
  }

  const outDir = options.out ?? join("out", graph.name);
  let result: TrainResult;
  let reporter: ProgressReporter | undefined;
  const ac = new AbortController();
  const onSigint = (): void => {
    if (ac.signal.aborted) process.exit(EXIT_INTERRUPTED); // second Ctrl-C: the last checkpoint on disk is complete
    ac.abort();
  };
  if (!env.signal) process.on("SIGINT", onSigint);
  try {
    if (options.init !== undefined && options.resume) throw new UserError("--init and --resume exclude each other (--resume continues from DIR/checkpoint.safetensors)");
    let ablate = options.ablate;
    if (options.resume) {
      const restored = await restoreRunSettings(join(outDir, CHECKPOINT_FILE), spec, options);
      spec = restored.spec;
      ablate = restored.ablate;
      if (restored.said) io.out(restored.said);
    }
    let data = addDerivedData(await loadTrainData(spec.data, dirname(file)), spec);
    if (ablate !== undefined && ablate.length > 0) {
      data = ablateInputs(data, graph, spec, ablate);
      io.out(`ablated (zeros in training and evaluation): ${ablate.join(", ")}`);
    }
    const tg = buildTrainingGraph(graph, spec, fieldTypes(data));
    const init = initWeights(graph, spec.seed);
    if (options.init !== undefined) {
      const taken = initFrom(init, readSafetensors(await readUserFile(options.init, "--init weights")), options.init);
      io.out(`initialized ${taken.taken} of ${init.size} tensors from ${options.init}${taken.missing.length ? ` (kept the seeded init for ${taken.missing.join(", ")})` : ""}`);
    }
    const backend = await createBackend(options.backend ?? "auto", tg, init, options.simd !== false, io);
    const mode = options.progress ?? "auto";
    const tty = env.tty ?? process.stdout.isTTY === true;
    if (mode === "bar" || (mode === "auto" && tty)) reporter = barReporter();
    else if (mode !== "none") reporter = lineReporter(io);
    result = await train({
      graph: tg, spec, backend, data, outDir, resume: options.resume === true, ablate: ablate ?? [], modelFile: resolve(file),
      signal: env.signal ?? ac.signal,
      ...(reporter ? { onProgress: reporter.onProgress } : {}),
    });
  } catch (e) {
    if (e instanceof TrainDataLoadError || e instanceof AblateError || e instanceof TrainSpecError || e instanceof TrainDataError || e instanceof CheckpointError || e instanceof SplitError || e instanceof TrainSelectionError || e instanceof TrainDivergedError)
      throw new UserError(e.message);
    throw e;
  } finally {
    reporter?.stop();
    if (!env.signal) process.off("SIGINT", onSigint);
  }
  if (result.status === "interrupted") {
    io.out(`interrupted after ${result.steps} steps; checkpoint ${result.checkpoint}`);
    // Repeat the overrides: the train section's values would otherwise come back on resume.
    const again = [
      options.epochs !== undefined ? `--epochs ${options.epochs}` : "",
      options.batchSize !== undefined ? `--batch-size ${options.batchSize}` : "",
      options.lr !== undefined ? `--lr ${options.lr}` : "",
      options.seed !== undefined ? `--seed ${options.seed}` : "",
      options.optimizer !== undefined ? `--optimizer ${options.optimizer}` : "",
      options.ablate !== undefined ? `--ablate ${options.ablate.join(",")}` : "",
      options.heads !== undefined ? `--heads ${options.heads.join(",")}` : "",
      options.freeze !== undefined ? `--freeze ${options.freeze.join(",")}` : "",
      options.trainable !== undefined ? `--trainable ${options.trainable.join(",")}` : "",
    ].filter((x) => x).join(" ");
    io.out(`resume with: modelc train ${file} -o ${outDir} ${again ? again + " " : ""}--resume`);
    return EXIT_INTERRUPTED;
  }

  const last = result.history.epochs.at(-1);
  const summary = {
    status: result.status, epochs: result.epochs, steps: result.steps, test: result.test ?? null, validation: last?.validation ?? null,
    ...(last?.weights ? { loss_weights: last.weights } : {}),
    config: result.config,
  };
  await writeFileAtomic(join(outDir, "metrics.json"), JSON.stringify(summary, null, 1) + "\n");
  const compiled = await compile(source, {
    file,
    ...(options.model !== undefined ? { model: options.model } : {}),
    weights: inferenceWeights(graph, result.weights),
    simd: options.simd === false ? "scalar" : "both",
  });
  if (printDiagnostics(io, compiled.diagnostics, { [file]: source }) || !compiled.artifact) return EXIT_USER;
  const written = await writeArtifactFiles(outDir, compiled.artifact.files);
  const how = result.status === "early_stopped" ? `early stopping after ${result.epochs} epochs` : `${result.epochs} epochs`;
  io.out(`trained ${graph.name}: ${how}, ${result.steps} steps`);
  if (result.test) io.out(`test (${result.test.samples} samples): ${formatMetrics(result.test, "", last?.weights)}`);
  else io.out("test: no test split");
  io.out(`wrote ${written.join(", ")}`);
  io.out(`wrote ${["checkpoint.safetensors", "curves.csv", "curves.json", "curves.svg", "metrics.json"].map((f) => join(outDir, f)).join(", ")}`);
  return EXIT_OK;
}
