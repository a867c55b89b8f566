// Loads the data set a TrainSpec names (mnist, npz, npy, csv, safetensors) and reports its field types for
// buildTrainingGraph. Neighbours: data/sources.ts and data/mnist.ts read the files; cli/train.ts and cli/eval.ts call it.

import { readFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import type { Dataset } from "../data/dataset.js";
import { mnistDataset } from "../data/mnist.js";
import { mnistVqaDataset } from "../data/vqa.js";
import { readCsvDataset, readNpyFields, readNpzDataset, readSafetensorsDataset } from "../data/sources.js";
import type { FieldType, TrainDataSpec } from "./spec.js";

/** A data file that cannot be read or parsed (the message names the file). */
export class TrainDataLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TrainDataLoadError";
  }
}

function resolvePath(baseDir: string, path: string): string {
  return isAbsolute(path) ? path : join(baseDir, path);
}

async function bytesOf(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TrainDataLoadError(`cannot read data file '${path}': ${code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
}

/**
 * Read the data set of `data`; relative paths are relative to `baseDir` (the .model file's directory).
 * mnist: the `mnist` package (fields image f32 [1, 28, 28], label i32 []); npz / safetensors: every array;
 * npy: one file per field (`paths`); csv: header row, `label` column as i32, the other columns packed into
 * f32 `features`. Errors: TrainDataLoadError (unreadable file, parse errors with the file name).
 */
export async function loadTrainData(data: TrainDataSpec, baseDir = "."): Promise<Dataset> {
  const need = (what: string): string => {
    if (data.path === undefined) throw new TrainDataLoadError(`data source ${data.source}() needs a file path`);
    return resolvePath(baseDir, data.path) + what;
  };
  const wrap = <T>(file: string, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      throw new TrainDataLoadError(`${file}: ${(e as Error).message}`);
    }
  };
  switch (data.source) {
    case "mnist":
      return wrap("mnist", () => mnistDataset());
    case "mnist_vqa":
      return wrap("mnist_vqa", () => mnistVqaDataset({ seed: data.seed ?? 0 }));
    case "npz": {
      const file = need("");
      const bytes = await bytesOf(file);
      return wrap(file, () => readNpzDataset(bytes));
    }
    case "safetensors": {
      const file = need("");
      const bytes = await bytesOf(file);
      return wrap(file, () => readSafetensorsDataset(bytes));
    }
    case "csv": {
      const file = need("");
      const text = new TextDecoder().decode(await bytesOf(file));
      return wrap(file, () => readCsvDataset(text, { header: true, ...(data.label !== undefined ? { label: data.label } : {}) }));
    }
    case "npy": {
      const files: Record<string, Uint8Array> = {};
      for (const [field, path] of Object.entries(data.paths ?? {})) files[field] = await bytesOf(resolvePath(baseDir, path));
      if (Object.keys(files).length === 0) throw new TrainDataLoadError("npy() needs one file per field, e.g. npy(image=\"x.npy\", label=\"y.npy\")");
      return wrap("npy", () => readNpyFields(files));
    }
  }
}

/** Dtype and per-sample shape of every field (buildTrainingGraph's `fieldTypes`). */
export function fieldTypes(ds: Dataset): Record<string, FieldType> {
  const out: Record<string, FieldType> = {};
  for (const [name, f] of Object.entries(ds.fields)) out[name] = { dtype: f.dtype, shape: [...f.shape] };
  return out;
}
