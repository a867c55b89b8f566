#!/usr/bin/env node
// The `modelc` command line: check | compile | run | inspect | train | eval | export, parsed with commander; each command is a
// function in cli/<name>.ts returning an exit code, imported only when that command runs (the front
// end, ajv and binaryen are slow to load; --help and --version load none). Neighbours: cli/common.ts (io, errors), index.ts.

import { realpathSync } from "node:fs";
import v8 from "node:v8";
import { pathToFileURL } from "node:url";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { compilerVersion } from "../io/version.js";
import { EXIT_INTERNAL, EXIT_OK, EXIT_USER, UserError, processIo, type CliIo } from "./common.js";

function parseSeed(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n > 0xffffffff) throw new InvalidArgumentError("expected an integer in [0, 4294967295]");
  return n;
}

function parsePositiveInt(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError("expected an integer >= 1");
  return n;
}

function parseNumber(v: string): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError("expected a number");
  return n;
}

/** "a,b, c" -> ["a", "b", "c"] (no empty names). */
function parseNameList(v: string): string[] {
  const names = v.split(",").map((x) => x.trim());
  if (names.some((x) => x === "")) throw new InvalidArgumentError("expected comma-separated names, e.g. digit,parity");
  return names;
}

function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}

/** Build the commander program; each action stores its exit code in `result.code`. */
function program(io: CliIo, result: { code: number }): Command {
  const p = new Command("modelc")
    .description("Compile .model neural-network files to one WebAssembly SIMD module, and run them")
    .version(compilerVersion(), "-V, --version")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, "")), writeErr: (s) => io.err(s.replace(/\n$/, "")) })
    .showHelpAfterError("(use --help for usage)");
  p.command("check")
    .description("parse and shape-check a .model file; prints diagnostics, or 'ok: N ops as written (M as compiled), P parameters'")
    .argument("<file>", ".model source file")
    .option("--model <name>", "which model of the file (default: the first)")
    .action(async (file: string, o: { model?: string }) => {
      const { checkCommand } = await import("./check.js");
      result.code = await checkCommand(file, o, io);
    });
  p.command("compile")
    .description("compile a .model file to an artifact directory: NAME.wasm, NAME.relaxed.wasm, NAME.nosimd.wasm, manifest, JS loader, .d.ts")
    .argument("<file>", ".model source file")
    .option("--weights <file>", "PyTorch state_dict as .safetensors (default: seeded PyTorch-style init)")
    .option("-o, --out <dir>", "output directory", "out")
    .option("--no-simd", "emit only the scalar module (no SIMD build)")
    .option("--no-relaxed", "no relaxed-SIMD module (NAME.relaxed.wasm: fused multiply-add GEMM, picked at load time where supported)")
    .option("--separate-weights", "write weights to NAME.weights.bin instead of embedding them")
    .option("--model <name>", "which model of the file (default: the first)")
    .option("--seed <n>", "initializer seed when no --weights are given", parseSeed, 0)
    .option("--heads <names>", "keep only these outputs (comma-separated); unused branches, weights and inputs disappear", parseNameList)
    .action(async (file: string, o: { weights?: string; out: string; simd: boolean; relaxed: boolean; separateWeights?: boolean; model?: string; seed: number; heads?: string[] }) => {
      if (isEntry()) baselineWasmTierOnly();
      const { compileCommand } = await import("./compile.js");
      result.code = await compileCommand(file, o, io);
    });
  p.command("run")
    .description("run a compiled model on .npy inputs; writes NAME.npy per output")
    .argument("<artifact>", "NAME.wasm, NAME.relaxed.wasm, NAME.nosimd.wasm or NAME.manifest.json")
    .option("-i, --input <name=file.npy>", "a model input (repeat for each input; just FILE.npy for a one-input model); shape [B, ...] or one sample; another dtype than the input's is converted, with a notice", collect)
    .option("-o, --out <dir>", "directory for the output .npy files", ".")
    .addOption(new Option("--simd <mode>", "which build to run").choices(["auto", "force", "off"]).default("auto"))
    .addOption(new Option("--relaxed <mode>", "run the relaxed-SIMD build (fused multiply-add) when the host supports it").choices(["auto", "force", "off"]).default("auto"))
    .option("--allow-nan", "run inputs holding NaN (by default a NaN in an f32 input is an error naming its index)")
    .action(async (artifact: string, o: { input?: string[]; out: string; simd: "auto" | "force" | "off"; relaxed: "auto" | "force" | "off"; allowNan?: boolean }) => {
      const { runCommand } = await import("./run.js");
      result.code = await runCommand(artifact, o, io);
    });
  p.command("inspect")
    .description("show ops, layer names, outputs, parameters, FLOPs, the kernel each op runs in (backend fusion) and the memory plan of a .model file (the graph as compiled: inference passes and batchnorm folding) or a compiled artifact")
    .argument("<file>", ".model file, NAME.wasm or NAME.manifest.json")
    .option("--ir", "print the IR (as compiled; with --no-opt as written) as JSON")
    .option("--svg <out.svg>", "write a drawing of the graph (the stage shown)")
    .option("--no-opt", "show the graph as written (lowered, before the inference passes and batchnorm folding)")
    .option("--model <name>", "which model of the file (default: the first)")
    .action(async (file: string, o: { ir?: boolean; svg?: string; opt: boolean; model?: string }) => {
      const { inspectCommand } = await import("./inspect.js");
      result.code = await inspectCommand(file, o, io);
    });
  p.command("train")
    .description("train a model from its train { ... } section; writes checkpoint, learning curves, metrics and the trained artifact to DIR")
    .argument("<file>", ".model source file with a train section")
    .option("-o, --out <dir>", "output directory (default: out/<model>)")
    .option("--epochs <n>", "override the number of epochs", parsePositiveInt)
    .option("--batch-size <n>", "override the batch size", parsePositiveInt)
    .option("--lr <x>", "override the learning rate", parseNumber)
    .option("--seed <n>", "override the seed (init, split, shuffling, augmentation, dropout)", parseSeed)
    .option("--optimizer <name>", "override the optimizer: sgd | momentum | adam | adamw")
    .option("--resume", "continue from DIR/checkpoint.safetensors")
    .option("--ablate <inputs>", "feed zeros for these model inputs (comma-separated) in training and evaluation", (v: string) => v.split(",").map((x) => x.trim()).filter((x) => x !== ""))
    .option("--heads <losses>", "train only these losses (comma-separated loss names)", parseNameList)
    .option("--freeze <layers>", "layers or param names (comma-separated) that get no update", parseNameList)
    .option("--trainable <layers>", "only these layers or params train (comma-separated)", parseNameList)
    .option("--init <file.safetensors>", "start from these weights (a checkpoint or a state_dict; optimizer state is not taken)")
    .addOption(new Option("--backend <kind>", "where train steps run").choices(["auto", "wasm", "reference"]).default("auto"))
    .addOption(new Option("--progress <mode>", "progress display").choices(["auto", "bar", "lines", "none"]).default("auto"))
    .option("--spec <file.json>", "a TrainSpec as JSON instead of the model's train section")
    .option("--no-simd", "scalar builds only")
    .option("--model <name>", "which model of the file (default: the first)")
    .action(async (file: string, o: import("./train.js").TrainCommandOptions) => {
      const { trainCommand } = await import("./train.js");
      result.code = await trainCommand(file, o, io);
    });
  p.command("export")
    .description("write a model as ONNX (opset 17, batch dimension \"N\") with its weights: a .model file, or a compiled artifact with --source")
    .argument("<file>", ".model file, or NAME.wasm / NAME.manifest.json (then --source FILE.model)")
    .option("--onnx", "ONNX format (the only one so far)")
    .option("-o, --out <file.onnx>", "output file (default: NAME.onnx)")
    .option("--weights <file>", "for a .model file: PyTorch state_dict as .safetensors (default: seeded PyTorch-style init)")
    .option("--seed <n>", "initializer seed for a .model file without --weights", parseSeed, 0)
    .option("--source <file.model>", "for an artifact: the .model file it was compiled from")
    .option("--heads <names>", "export only these outputs (comma-separated), e.g. a model whose other head has no ONNX form", parseNameList)
    .option("--model <name>", "which model of the file (default: the first)")
    .action(async (file: string, o: import("./export.js").ExportCommandOptions) => {
      const { exportCommand } = await import("./export.js");
      result.code = await exportCommand(file, o, io);
    });
  p.command("eval")
    .description("accuracy, cross-entropy loss and confusion matrix of a compiled classifier on labelled data (per head, each against its target)")
    .argument("<artifact>", "NAME.wasm, NAME.nosimd.wasm or NAME.manifest.json")
    .option("--data <source|file>", "mnist, mnist_vqa(seed=N), or a .npz / .safetensors / .csv file (default: the training run's data)")
    .option("--model-file <file.model>", "the .model file it was trained from: data source, derived fields, each output's target")
    .addOption(new Option("--split <part>", "which part (recomputed from the run's checkpoint next to the artifact; default test if present, else all)").choices(["test", "validation", "train", "all"]))
    .option("--label <field>", "class-index field (default: the output's target in the train section, else label)")
    .option("--output <name>", "one logits output (default: every output the train section scores, else the first [N, C] output)")
    .option("--batch-size <n>", "samples per run", parsePositiveInt)
    .option("--json", "print JSON")
    .action(async (artifact: string, o: import("./eval.js").EvalCommandOptions) => {
      const { evalCommand } = await import("./eval.js");
      result.code = await evalCommand(artifact, o, io);
    });
  p.command("sample")
    .description("PNG grid of a conditional generator's samples (e.g. a CVAE's 'generated' output): one row per class")
    .argument("<artifact>", "NAME.wasm, NAME.nosimd.wasm or NAME.manifest.json")
    .option("--per-class <n>", "samples per class (grid columns)", parsePositiveInt, 10)
    .option("--seed <n>", "base RNG seed: sample i gets seed * 65536 + i", parseSeed, 0)
    .option("-o, --out <file.png>", "output PNG", "samples.png")
    .option("--label <input>", "class-index input (default: label)")
    .option("--seed-input <input>", "per-sample seed input (default: seed)")
    .option("--output <name>", "image output (default: generated)")
    .option("--classes <n>", "number of classes (default: the label input's embedding range, else 10)", parsePositiveInt)
    .option("--scale <n>", "upscale each pixel n times", parsePositiveInt, 1)
    .action(async (artifact: string, o: import("./sample.js").SampleCommandOptions) => {
      const { sampleCommand } = await import("./sample.js");
      result.code = await sampleCommand(artifact, o, io);
    });
  p.command("attention")
    .description("attention heatmap PNG of a model's multihead_attention layers (rows = queries, columns = keys), computed in float64")
    .argument("<file>", ".model source file")
    .option("--weights <file>", "PyTorch state_dict or modelc train checkpoint as .safetensors (default: seeded PyTorch-style init)")
    .option("-i, --input <name=file.npy>", "a model input (repeat for each input; just FILE.npy for a one-input model); shape [B, ...] or one sample", collect)
    .option("-o, --out <file.png>", "output PNG (FILE.<layer>.png per layer when there are several and no --layer)", "attention.png")
    .option("--layer <name>", "which attention layer, e.g. layer.self_attn (default: every one)")
    .option("--sample <k>", "which sample of the batch", parseSeed, 0)
    .option("--head <k>", "one head instead of the mean over heads", parseSeed)
    .option("--model <name>", "which model of the file (default: the first)")
    .option("--seed <n>", "initializer seed when no --weights are given", parseSeed, 0)
    .action(async (file: string, o: import("./attention.js").AttentionCommandOptions) => {
      const { attentionCommand } = await import("./attention.js");
      result.code = await attentionCommand(file, o, io);
    });
  return p;
}

/**
 * Run the CLI on `argv` (without "node" and the script path) and return the exit code:
 * 0 ok (also --help/--version), 1 user error (bad file, diagnostics, bad input, bad usage),
 * 2 internal error (an uncaught exception: "internal error: ..." and the stack).
 */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const result = { code: EXIT_OK };
  try {
    await program(io, result).parseAsync([...argv], { from: "user" });
    return result.code;
  } catch (e) {
    return exitCodeFor(e, io);
  }
}

/**
 * The exit code for an error that escaped a command, printing it: commander usage errors 1 (already
 * printed; --help/--version 0), UserError 1 (`error: message`), anything else 2 (`internal error:`,
 * the message clipped to a screen, then the stack frames).
 */
export function exitCodeFor(e: unknown, io: CliIo): number {
  if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT_OK : EXIT_USER;
  if (e instanceof UserError) {
    io.err(`error: ${e.message}`);
    return EXIT_USER;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  io.err(`internal error: ${clip(err.message)}`);
  io.err("this is a bug in modelc; please report it with the file that triggered it. Stack:");
  io.err((err.stack ?? "").split("\n").filter((l) => /^\s+at /.test(l)).join("\n") || "(no stack)");
  return EXIT_INTERNAL;
}

/** First 12 lines / 1500 characters of an error message (backend errors may embed a whole module). */
function clip(message: string): string {
  const lines = message.split("\n");
  let text = lines.slice(0, 12).join("\n");
  if (text.length > 1500) text = text.slice(0, 1500);
  return text.length < message.length ? `${text}\n  ... (${message.length - text.length} more characters)` : text;
}

/**
 * `modelc compile` runs binaryen (a large wasm module) for one compile and exits. By default V8 recompiles
 * binaryen's hot functions with its optimizing tier (TurboFan) in background threads, which costs more CPU
 * (~250-350 ms measured by scripts/compile-time.ts) than it saves on a one-shot compile. This keeps all wasm
 * of this process on the baseline tier (Liftoff). Only for the CLI's compile command, which runs no model:
 * the flag is process-wide, and a model run on the baseline tier is ~3x slower, so the library never sets it.
 * MODELC_WASM_TIERUP=1 turns it off (for measuring).
 */
function baselineWasmTierOnly(): void {
  if (process.env.MODELC_WASM_TIERUP === "1") return;
  v8.setFlagsFromString("--liftoff-only");
}

/** True when this file is the process's entry script (also through npm's bin symlink). */
function isEntry(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isEntry()) {
  // `modelc inspect x | head` closes the pipe early: stop quietly instead of an EPIPE stack trace.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
  process.exitCode = await main(process.argv.slice(2));
}
