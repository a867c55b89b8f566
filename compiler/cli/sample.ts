// `modelc sample`: run a conditional generator (a CVAE artifact's `generated` output, or a module
// compiled with `--heads generated`) for every class and write a PNG grid, one row per class.
// Neighbours: runtime/index.ts (loadModel), io/png-grid.ts (PNG), io/atomic.ts; scripts/cvae-check.ts reuses generateByClass.

import { dirname } from "node:path";
import { ModelcRuntimeError, type Model } from "../../runtime/index.js";
import { encodeGridPng, gridSize } from "../io/png-grid.js";
import { loadArtifact } from "./load.js";
import { EXIT_OK, UserError, makeUserDir, writeUserFile, type CliIo } from "./common.js";

/** What to generate: `perClass` samples of each class of input `label`, seeded from `seed`. */
export interface GenerateOptions {
  perClass: number;
  /** Base seed (integer >= 0): sample i (row-major over classes) gets the RNG seed (seed * 65536 + i) mod 2^32, as i32. */
  seed: number;
  /** Condition input (i32 [N] class indices). Default "label". */
  label?: string;
  /** Seed input (i32 [N]). Default "seed". */
  seedInput?: string;
  /** Image output. Default "generated". */
  output?: string;
  /** Number of classes; default the label input's embedding range, else 10. */
  classes?: number;
}

/** Generated images: `classes * perClass` images row-major by class, each `shape` (per sample). */
export interface Generated {
  images: Float32Array;
  labels: Int32Array;
  classes: number;
  perClass: number;
  /** Per-sample shape of the output, e.g. [1, 28, 28]. */
  shape: number[];
}

/**
 * Run `model` once with labels [0 x perClass, 1 x perClass, ...] and per-sample seeds; every other input
 * (e.g. the encoder's `image` in a full CVAE module) is fed zeros, which a generator output does not read.
 * Errors (UserError): a missing label / seed input or output (names listed), a non-i32 label or seed.
 */
export function generateByClass(model: Model, o: GenerateOptions): Generated {
  const labelName = o.label ?? "label";
  const seedName = o.seedInput ?? "seed";
  const outName = o.output ?? "generated";
  const find = (name: string, what: string) => {
    const s = model.inputs.find((x) => x.name === name);
    if (!s) throw new UserError(`the model has no ${what} input '${name}' (inputs: ${model.inputs.map((x) => x.name).join(", ")})`);
    if (s.dtype !== "i32" || s.elementsPerSample !== 1) throw new UserError(`${what} input '${name}' must be i32 [N] (one integer per sample)`);
    return s;
  };
  const ls = find(labelName, "condition");
  find(seedName, "seed");
  const out = model.outputs.find((x) => x.name === outName);
  if (!out) throw new UserError(`the model has no output '${outName}' (outputs: ${model.outputs.map((x) => x.name).join(", ")})`);
  const classes = o.classes ?? (ls.range ? ls.range[1] - ls.range[0] : 10);
  const lo = ls.range ? ls.range[0] : 0;
  const n = classes * o.perClass;
  const labels = Int32Array.from({ length: n }, (_, i) => lo + Math.floor(i / o.perClass));
  const seeds = Int32Array.from({ length: n }, (_, i) => (o.seed * 65536 + i) | 0);
  const inputs: Record<string, Float32Array | Int32Array> = {};
  for (const s of model.inputs)
    inputs[s.name] = s.name === labelName ? labels : s.name === seedName ? seeds : s.dtype === "i32" ? new Int32Array(n * s.elementsPerSample) : new Float32Array(n * s.elementsPerSample);
  let res;
  try {
    res = model.run(inputs, { batch: n });
  } catch (e) {
    if (e instanceof ModelcRuntimeError) throw new UserError(`run failed: ${e.message}`);
    throw e;
  }
  return { images: res[outName] as Float32Array, labels, classes, perClass: o.perClass, shape: out.shape.slice(1) as number[] };
}

/** Encode generated images as a grid PNG (one row per class). Errors (UserError): a shape that is not [H, W], [1, H, W] or [3, H, W]. */
export function samplesPng(g: Generated, scale = 1): { png: Uint8Array; width: number; height: number } {
  const s = g.shape;
  const [c, h, w] = s.length === 2 ? [1, s[0]!, s[1]!] : s.length === 3 ? [s[0]!, s[1]!, s[2]!] : [0, 0, 0];
  if (c !== 1 && c !== 3) throw new UserError(`output shape [${s.join(", ")}] is not an image ([H, W], [1, H, W] or [3, H, W])`);
  const layout = { rows: g.classes, cols: g.perClass, height: h, width: w, channels: c as 1 | 3, scale };
  return { png: encodeGridPng(g.images, layout), ...gridSize(layout) };
}

/** Options of `modelc sample`. */
export interface SampleCommandOptions extends GenerateOptions {
  out: string;
  scale?: number;
  simd?: "auto" | "force" | "off";
}

/**
 * `modelc sample ARTIFACT --per-class K --seed S -o grid.png`: load the artifact, generate K samples per
 * class, write the PNG atomically and print its size. Returns 0; UserError (exit 1) for a model without
 * the inputs/outputs (see generateByClass) or an unreadable artifact.
 */
export async function sampleCommand(artifact: string, o: SampleCommandOptions, io: CliIo): Promise<number> {
  const model = await loadArtifact(artifact, { simd: o.simd ?? "auto" });
  const g = generateByClass(model, o);
  const { png, width, height } = samplesPng(g, o.scale ?? 1);
  await makeUserDir(dirname(o.out), "directory");
  await writeUserFile(o.out, png, "PNG file");
  io.out(`wrote ${o.out}: ${g.classes} classes x ${g.perClass} samples (${width} x ${height} px) from '${o.output ?? "generated"}' of ${model.name}`);
  return EXIT_OK;
}
