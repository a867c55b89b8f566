// scripts/compile-time.ts: which files get a per-stage table and how each table is labelled (the spawning itself
// is exercised by running the script; see bench/README.md "First compile: where the time goes"). Neighbours: bench/infer.js.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { breakdownFiles, fileLabels } from "../scripts/compile-time.js";

const ROOT = join(import.meta.dirname, "..");

describe("compile-time script", () => {
  it("breaks down each file given, once, in the order given (not transformer-block twice)", () => {
    const a = join(ROOT, "dsl-examples/mnist-cnn.model");
    const t = join(ROOT, "dsl-examples/transformer-block.model");
    expect(breakdownFiles([a, t], true)).toEqual([a, t]);
    expect(breakdownFiles([t, a, t], true)).toEqual([t, a]);
    expect(breakdownFiles([a], true)).toEqual([a]);
    // without files (all the examples): the largest and the smallest example
    const m = join(ROOT, "dsl-examples/mnist-mlp.model");
    expect(breakdownFiles([a, m, t, join(ROOT, "bench/models/x.model")], false)).toEqual([t, m]);
  });

  it("labels each table with its own file, with the path where base names collide", () => {
    const a = join(ROOT, "dsl-examples/mnist-cnn.model");
    const b = "/tmp/x/mnist-cnn.model";
    const c = "/tmp/x/other.model";
    const labels = fileLabels([a, b, c]);
    // relative to the working directory (vitest runs in the repository root)
    expect([...labels.values()]).toEqual(["dsl-examples/mnist-cnn.model", "/tmp/x/mnist-cnn.model", "other.model"]);
    expect(fileLabels([a, c]).get(a)).toBe("mnist-cnn.model");
  });
});
