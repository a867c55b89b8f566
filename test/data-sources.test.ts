// Tests of the dataset abstraction, its sources (npz, npy, safetensors, CSV, mnist) and label transforms.
// Neighbours: compiler/data/{dataset,sources,labels,mnist}.ts; fixtures from test/fixtures/data/make_fixtures.py.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { fieldOf, makeDataset, pickFields, selectSamples, withFields } from "../compiler/data/dataset.js";
import { argmaxField, oneHot, toF32, toI32 } from "../compiler/data/labels.js";
import { mnistDataset } from "../compiler/data/mnist.js";
import { readCsvDataset, readNpyFields, readNpzDataset, readSafetensorsDataset } from "../compiler/data/sources.js";
import { writeSafetensors } from "../compiler/weights/safetensors.js";

const FIX = "test/fixtures/data/";
const fixture = (name: string): Uint8Array => readFileSync(FIX + name);

describe("Dataset", () => {
  const ds = makeDataset({
    x: { dtype: "f32", shape: [2], data: new Float32Array([0, 1, 10, 11, 20, 21]) },
    y: { dtype: "i32", shape: [], data: new Int32Array([7, 8, 9]) },
  });

  it("selectSamples copies samples in the given order, repeats allowed", () => {
    const s = selectSamples(ds, [2, 0, 2]);
    expect(s.count).toBe(3);
    expect([...s.fields.x!.data]).toEqual([20, 21, 0, 1, 20, 21]);
    expect([...s.fields.y!.data]).toEqual([9, 7, 9]);
    s.fields.y!.data[0] = 0;
    expect(ds.fields.y!.data[2]).toBe(9); // a copy, not a view
    expect(() => selectSamples(ds, [0, 3])).toThrow("selectSamples: indices[1] = 3 is out of range [0, 3)");
  });

  it("fieldOf lists the available fields", () => {
    expect(fieldOf(ds, "y").data).toBe(ds.fields.y!.data);
    expect(() => fieldOf(ds, "label")).toThrow("no field 'label'; available: x f32 [2], y i32 []");
    expect(() => fieldOf(ds, "toString")).toThrow("no field 'toString'");
    expect(() => pickFields(ds, ["x", "z"])).toThrow("no field 'z'");
  });

  it("mismatched sample counts name every field and count", () => {
    expect(() =>
      makeDataset({
        image: { dtype: "f32", shape: [2, 2], data: new Float32Array(12) },
        label: { dtype: "i32", shape: [], data: new Int32Array(4) },
      }),
    ).toThrow("dataset: fields disagree on the sample count: image 3, label 4");
    expect(() => withFields(ds, { w: { dtype: "f32", shape: [], data: new Float32Array(2) } })).toThrow(
      "fields disagree on the sample count (expected 3): x 3, y 3, w 2",
    );
  });
});

describe("label transforms", () => {
  const ids = { dtype: "i32" as const, shape: [], data: new Int32Array([2, 0, 1]) };

  it("oneHot and argmaxField invert each other", () => {
    const oh = oneHot(ids, 3);
    expect(oh.shape).toEqual([3]);
    expect([...oh.data]).toEqual([0, 0, 1, 1, 0, 0, 0, 1, 0]);
    const back = argmaxField(oh);
    expect(back.dtype).toBe("i32");
    expect([...back.data]).toEqual([2, 0, 1]);
    // ties go to the first maximum, NaN never wins
    expect([...argmaxField({ dtype: "f32", shape: [3], data: new Float32Array([1, 1, 0, NaN, -1, -2]) }).data]).toEqual([0, 1]);
  });

  it("oneHot names the first bad sample", () => {
    expect(() => oneHot({ dtype: "i32", shape: [], data: new Int32Array([1, 9, -1]) }, 3)).toThrow(
      "oneHot: sample 1 has class id 9, outside [0, 3)",
    );
    expect(() => oneHot({ dtype: "f32", shape: [], data: new Float32Array(1) }, 3)).toThrow("must be an i32 field");
  });

  it("toF32 scales, toI32 refuses fractions and out-of-range values", () => {
    expect([...toF32({ dtype: "i32", shape: [], data: new Int32Array([0, 51, 255]) }, 1 / 255).data]).toEqual([0, Math.fround(0.2), 1]);
    expect([...toI32({ dtype: "f32", shape: [], data: new Float32Array([3, -2]) }).data]).toEqual([3, -2]);
    expect(() => toI32({ dtype: "f32", shape: [2], data: new Float32Array([1, 2, 3, 4.5]) })).toThrow(
      "toI32: sample 1, element 1 is 4.5, not an integer in the i32 range",
    );
    expect(() => toI32({ dtype: "f32", shape: [], data: new Float32Array([3e9]) })).toThrow("sample 0 is 3000000000");
  });
});

describe("npz", () => {
  it("reads np.savez: f64 -> f32, i64 -> i32, 0-d arrays skipped", () => {
    const ds = readNpzDataset(fixture("small.npz"));
    expect(ds.count).toBe(5);
    expect(Object.keys(ds.fields).sort()).toEqual(["x", "y"]);
    const x = fieldOf(ds, "x");
    expect(x.dtype).toBe("f32");
    expect(x.shape).toEqual([3]);
    expect([...x.data]).toEqual(Array.from({ length: 15 }, (_, i) => i / 4 - 1));
    expect(fieldOf(ds, "y").dtype).toBe("i32");
    expect([...fieldOf(ds, "y").data]).toEqual([3, 1, 4, 1, 5]);
  });

  it("reads np.savez_compressed and selects by count or names", () => {
    const bytes = fixture("compressed.npz");
    expect(() => readNpzDataset(bytes)).toThrow(
      "npz: arrays disagree on the sample count (first dim): img 4 [4, 1, 2, 3], lbl 4 [4], target 4 [4, 2], class_names_len 3 [3]",
    );
    const ds = readNpzDataset(bytes, { count: 4 });
    expect(Object.keys(ds.fields)).toEqual(["img", "lbl", "target"]);
    const img = fieldOf(ds, "img");
    expect(img.dtype).toBe("i32");
    expect(img.shape).toEqual([1, 2, 3]);
    expect([...img.data]).toEqual(Array.from({ length: 24 }, (_, i) => i * 10));
    expect([...toF32(img, 1 / 10).data.subarray(0, 4)]).toEqual([0, 1, 2, 3]);
    expect([...fieldOf(ds, "lbl").data]).toEqual([0, 2, 1, 2]);
    expect([...fieldOf(ds, "target").data]).toEqual([0.5, -1.5, Math.fround(1e-3), 2, 3.25, 0, -7, 1e6]);
    const two = readNpzDataset(bytes, { fields: ["target", "lbl"] });
    expect(Object.keys(two.fields)).toEqual(["target", "lbl"]);
    expect(() => readNpzDataset(bytes, { fields: ["labels"] })).toThrow(
      "npz: no array 'labels'; available: img, lbl, target, class_names_len",
    );
  });

  it("errors: count mismatch, i64 out of range, not a zip", () => {
    expect(() => readNpzDataset(fixture("mismatch.npz"))).toThrow("npz: arrays disagree on the sample count (first dim): a 5 [5, 2], b 4 [4]");
    expect(() => readNpzDataset(fixture("big_i64.npz"))).toThrow("npz: array 'y': element 2 is 1099511627776, outside the i32 range");
    expect(() => readNpzDataset(new Uint8Array([1, 2, 3, 4]))).toThrow("npz: not a readable zip archive");
  });
});

describe("npy fields", () => {
  it("reads one file per field (paths or bytes)", () => {
    const ds = readNpyFields({ features: FIX + "features.npy", label: fixture("labels.npy") });
    expect(ds.count).toBe(6);
    expect(fieldOf(ds, "features").shape).toEqual([2]);
    expect([...fieldOf(ds, "features").data]).toEqual(Array.from({ length: 12 }, (_, i) => Math.fround(Math.fround(i) * Math.fround(0.1))));
    expect([...fieldOf(ds, "label").data]).toEqual([1, 0, 1, 1, 0, 0]);
  });

  it("errors name the field and its count", () => {
    expect(() => readNpyFields({ features: FIX + "features.npy", label: FIX + "labels5.npy" })).toThrow(
      "npy: arrays disagree on the sample count (first dim): features 6 [6, 2], label 5 [5]",
    );
    expect(() => readNpyFields({ x: FIX + "missing.npy" })).toThrow("npy: field 'x' (test/fixtures/data/missing.npy): ENOENT");
  });
});

describe("safetensors", () => {
  it("reads tensors as fields", () => {
    const bytes = writeSafetensors([
      ["image", { shape: [2, 1, 2, 2], data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]) }],
      ["label", { shape: [2], data: new BigInt64Array([3n, -1n]) }],
      ["mask", { dtype: "BOOL", shape: [2, 2], data: new Uint8Array([1, 0, 0, 1]) }],
    ]);
    const ds = readSafetensorsDataset(bytes);
    expect(ds.count).toBe(2);
    expect(fieldOf(ds, "image").shape).toEqual([1, 2, 2]);
    expect([...fieldOf(ds, "image").data]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(fieldOf(ds, "label").dtype).toBe("i32");
    expect([...fieldOf(ds, "label").data]).toEqual([3, -1]);
    expect([...fieldOf(ds, "mask").data]).toEqual([1, 0, 0, 1]);
  });

  it("mismatched counts and out-of-range ints are errors", () => {
    const bad = writeSafetensors([
      ["a", { shape: [3], data: new Float32Array(3) }],
      ["b", { shape: [2, 5], data: new Float32Array(10) }],
    ]);
    expect(() => readSafetensorsDataset(bad)).toThrow("safetensors: arrays disagree on the sample count (first dim): a 3 [3], b 2 [2, 5]");
    const big = writeSafetensors([["y", { shape: [2], data: new BigInt64Array([0n, 1n << 33n]) }]]);
    expect(() => readSafetensorsDataset(big)).toThrow("safetensors: tensor 'y': element 1 is 8589934592, outside the i32 range");
  });
});

describe("csv", () => {
  const text = readFileSync(FIX + "small.csv", "utf8");

  it("packs feature columns, reads the label and scalar columns", () => {
    const ds = readCsvDataset(text, { header: true, label: "species", scalars: ["weight"] });
    expect(ds.count).toBe(4);
    expect(Object.keys(ds.fields)).toEqual(["features", "species", "weight"]);
    expect(fieldOf(ds, "features").shape).toEqual([3]);
    expect([...fieldOf(ds, "features").data]).toEqual([5.1, 3.5, 1.4, 4.9, 3.0, 1.4, 6.2, 2.9, 4.3, 7.7, 3.8, 6.7].map(Math.fround));
    expect([...fieldOf(ds, "species").data]).toEqual([0, 0, 1, 2]);
    expect(fieldOf(ds, "weight").shape).toEqual([]);
    expect([...fieldOf(ds, "weight").data]).toEqual([0.25, -0.01, 16, 1.5].map(Math.fround));
  });

  it("columns picks and orders the features (quoted header names work)", () => {
    const ds = readCsvDataset(text, { header: true, columns: ["petal, length", "sepal_length"] });
    expect(Object.keys(ds.fields)).toEqual(["features"]);
    expect([...fieldOf(ds, "features").data]).toEqual([1.4, 5.1, 1.4, 4.9, 4.3, 6.2, 6.7, 7.7].map(Math.fround));
    const nohead = readCsvDataset("1,2\n3,4\n", { header: false, label: "1" });
    expect([...fieldOf(nohead, "features").data]).toEqual([1, 3]);
    expect([...fieldOf(nohead, "1").data]).toEqual([2, 4]);
  });

  it("errors carry row, line and column", () => {
    expect(() => readCsvDataset(readFileSync(FIX + "bad.csv", "utf8"), { header: true, label: "label" })).toThrow(
      "csv: row 2 (line 3), column 'b': 'x7' is not a number",
    );
    expect(() => readCsvDataset("a,b\n1,\n", { header: true })).toThrow("csv: row 1 (line 2), column 'b': empty cell");
    expect(() => readCsvDataset("a,y\n1,0.5\n", { header: true, label: "y" })).toThrow("column 'y': label 0.5 is not an integer class id");
    expect(() => readCsvDataset(text, { header: true, label: "class" })).toThrow(
      "csv: label column 'class' not found; columns: sepal_length, sepal_width, petal, length, species, weight",
    );
    expect(() => readCsvDataset(text, { header: true, label: "species", columns: ["species"] })).toThrow(
      "csv: column 'species' is used twice (label and feature)",
    );
    expect(() => readCsvDataset("a,b\n1,2\n3\n", { header: true })).toThrow(/^csv: .*(record|column)/i);
  });
});

describe("mnist", () => {
  it("has 10,000 images [1, 28, 28] in [0, 1] and labels 0..9", () => {
    const ds = mnistDataset();
    expect(ds.count).toBe(10000);
    const image = fieldOf(ds, "image");
    expect(image.shape).toEqual([1, 28, 28]);
    expect(image.data.length).toBe(10000 * 784);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of image.data) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
    expect([lo, hi]).toEqual([0, 1]);
    expect([...fieldOf(ds, "label").data.subarray(0, 12)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
  });
});
