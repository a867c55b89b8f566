// `modelc compile FILE`: the whole pipeline to an artifact directory (wasm, manifest, loader, d.ts).
// Neighbours: cli/main.ts registers it; index.ts compile() does the work; artifact/write.ts writes files atomically.

import { compile } from "../index.js";
import { writeArtifactFiles } from "../artifact/write.js";
import { EXIT_OK, EXIT_USER, UserError, formatBytes, printDiagnostics, readUserFile, readUserText, writeFailure, type CliIo } from "./common.js";

/** Options of `modelc compile` (CLI flags in brackets). */
export interface CompileCommandOptions {
  /** [--weights W.safetensors] PyTorch state_dict; default: seeded init. */
  weights?: string;
  /** [-o DIR] output directory, created if missing. Default "./out". */
  out?: string;
  /** [--no-simd] false: only the scalar module. Default true (SIMD + scalar fallback). */
  simd?: boolean;
  /** [--no-relaxed] false: no relaxed-SIMD module NAME.relaxed.wasm. Default true (when the graph has a GEMM). */
  relaxed?: boolean;
  /** [--separate-weights] weights in NAME.weights.bin instead of data segments. Default false. */
  separateWeights?: boolean;
  /** [--model NAME] which model of the file. */
  model?: string;
  /** [--heads a,b] keep only these outputs; unused branches, weights and inputs disappear. Default: all. */
  heads?: string[];
  /** [--seed N] initializer seed when no weights are given. Default 0. */
  seed?: number;
}

/**
 * Run `modelc compile`: prints diagnostics (stderr), then each file written with its size and the
 * compile time (stdout): wall seconds from this call to the end of compile(), so reading the input files and
 * compile() including its lazy import of the backend and binaryen (~0.8 s of a ~1 s mnist-cnn figure), not node's
 * start-up and the module loading before this call, nor writing the files (bench/README.md "First compile: where the time goes"). Files are written atomically. Returns 0, or 1 on diagnostics errors.
 * Throws UserError for unreadable input files or an unwritable output directory.
 */
export async function compileCommand(file: string, options: CompileCommandOptions, io: CliIo): Promise<number> {
  const started = performance.now();
  const source = await readUserText(file, "model file");
  const weights = options.weights !== undefined ? await readUserFile(options.weights, "weights file") : undefined;
  const result = await compile(source, {
    file,
    ...(options.model !== undefined ? { model: options.model } : {}),
    ...(weights !== undefined ? { weights } : {}),
    seed: options.seed ?? 0,
    simd: options.simd === false ? "scalar" : "both",
    relaxed: options.relaxed !== false,
    embedWeights: !options.separateWeights,
    ...(options.heads !== undefined ? { heads: options.heads } : {}),
  });
  if (printDiagnostics(io, result.diagnostics, { [file]: source }) || !result.artifact) return EXIT_USER;
  const elapsed = performance.now() - started;
  const dir = options.out ?? "out";
  let written: string[];
  try {
    written = await writeArtifactFiles(dir, result.artifact.files);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`cannot write the artifact to '${dir}': ${code === "EEXIST" ? "it is a file, not a directory" : writeFailure(e)}`);
  }
  const sizes = [...result.artifact.files.values()].map((d) => (typeof d === "string" ? Buffer.byteLength(d) : d.length));
  const rows = written.map((path, i) => [path, sizes[i]!] as const);
  const width = Math.max(...rows.map((r) => r[0].length));
  for (const [path, size] of rows) io.out(`wrote ${path.padEnd(width)}  ${formatBytes(size).padStart(9)}`);
  const m = result.artifact.manifest;
  const origin = options.weights !== undefined ? `weights from ${options.weights}` : `weights initialized with seed ${options.seed ?? 0}`;
  io.out(`compiled ${m.name} in ${(elapsed / 1000).toFixed(2)} s (${m.cost.ops} ops, ${origin})`);
  return EXIT_OK;
}
