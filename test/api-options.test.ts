// The public API's argument checks (compiler/api-options.ts via compiler/index.ts): both call forms of check(), and
// compile()/check() misuse from plain JS thrown as TypeErrors with exact messages, before any work.

import { describe, expect, it } from "vitest";
import { check, compile, formatDiagnostic, type CompileOptions } from "../compiler/index.js";
import { COMPILE_KEYS } from "../compiler/api-options.js";

// two models: `a` (first) is fine, `b` has an unknown name at line 6
const SRC = "model a {\n  input x: f32[4]\n  output y = x -> relu\n}\nmodel b {\n  input x: f32[4]\n  output y = x -> rleu\n}\n";
const bad = (o: unknown): Promise<unknown> => compile(SRC, o as CompileOptions);

describe("check(): both call forms", () => {
  it("check(source, { file, model }) picks the model and names the file", () => {
    const r = check(SRC, { file: "two.model", model: "b" });
    expect(r.graph).toBeUndefined();
    expect(r.diagnostics.length).toBeGreaterThan(0);
    expect(formatDiagnostic(r.diagnostics[0]!, SRC).split("\n")[0]).toMatch(/^two\.model:7:\d+: error/);
    expect(check(SRC, { model: "a" }).graph?.name).toBe("a");
    expect(check(SRC, { file: "two.model" }).graph?.name).toBe("a");
  });

  it("check(source, file, { model }) still works, and equals the object form", () => {
    const pos = check(SRC, "two.model", { model: "b" });
    expect(pos.diagnostics).toEqual(check(SRC, { file: "two.model", model: "b" }).diagnostics);
    expect(pos.diagnostics[0]!.loc?.file).toBe("two.model");
    expect(check(SRC).diagnostics[0]?.loc?.file ?? "<input>").toBe("<input>");
    expect(check(SRC, undefined, { model: "b" }).diagnostics[0]!.loc?.file).toBe("<input>");
  });

  it("misuse is a TypeError naming what was expected and given", () => {
    const c = check as (...a: unknown[]) => unknown;
    expect(() => c(42)).toThrow(new TypeError('check(source, options): source must be the .model text as a string (e.g. readFileSync(path, "utf8")), got number 42'));
    expect(() => c(SRC, { modle: "b" })).toThrow(new TypeError("check(source, options): unknown option 'modle' (did you mean 'model'?); valid options: file, model"));
    expect(() => c(SRC, { file: 3 })).toThrow(new TypeError("check(source, options): options.file must be a string, got number 3"));
    expect(() => c(SRC, "a.model", { file: "b.model" })).toThrow(new TypeError('check(source, options): file is given twice: as the second argument ("a.model") and as options.file (string "b.model")'));
    expect(() => c(SRC, { model: "b" }, { model: "a" })).toThrow(new TypeError("check(source, options): with an options object as the second argument there is no third, got Object"));
    expect(() => c(SRC, null)).toThrow(new TypeError('check(source, options): options must be an object such as { file: "mnist.model", model: "classifier" }, got null'));
  });
});

describe("compile(): options checked up front", () => {
  const where = "compile(source, options): ";
  it.each([
    [null, 'options must be an object such as { file: "mnist.model", seed: 1 }, got null'],
    [{ wieghts: new Uint8Array(1) }, "unknown option 'wieghts' (did you mean 'weights'?); valid options: " + COMPILE_KEYS.join(", ")],
    [{ weights: "w.safetensors" }, 'options.weights must be the weights file\'s bytes, not its path: pass readFileSync("w.safetensors") (compile() reads no files), got string "w.safetensors"'],
    [{ weights: [1, 2] }, "options.weights must be safetensors bytes (a Uint8Array, e.g. readFileSync(path)) or a WeightMap (Map of name -> tensor), got array(2)"],
    [{ simd: "maybe" }, 'options.simd must be "both", "simd" or "scalar", got string "maybe"'],
    [{ simd: false }, 'options.simd must be "both", "simd" or "scalar", got boolean false'],
    [{ relaxed: "no" }, 'options.relaxed must be true or false, got string "no"'],
    [{ embedWeights: 0 }, "options.embedWeights must be true or false, got number 0"],
    [{ heads: "probs" }, 'options.heads must be an array of output names such as ["probs"], got string "probs" (the CLI\'s --heads a,b is heads: ["a", "b"] here)'],
    [{ heads: ["y", 1] }, 'options.heads must be an array of output names such as ["probs"], got array(2)'],
    [{ seed: 1.5 }, "options.seed must be an integer in [0, 4294967295], got number 1.5"],
    [{ seed: "1" }, 'options.seed must be an integer in [0, 4294967295], got string "1"'],
    [{ file: 1 }, "options.file must be a string, got number 1"],
    [{ skipPasses: ["fold-batchnrom"] }, "options.skipPasses: unknown pass 'fold-batchnrom' (did you mean 'fold-batchnorm'?); passes: fold-batchnorm"],
  ])("%j", async (o, msg) => {
    await expect(bad(o)).rejects.toThrow(new TypeError(where + msg));
  });

  it("a non-string source", async () => {
    await expect((compile as (s: unknown) => Promise<unknown>)(42)).rejects.toThrow(
      new TypeError(where + 'source must be the .model text as a string (e.g. readFileSync(path, "utf8")), got number 42'));
  });

  it("COMPILE_KEYS lists every CompileOptions key", () => {
    const all: Required<Record<keyof CompileOptions, 1>> = {
      file: 1, model: 1, weights: 1, seed: 1, simd: 1, relaxed: 1, embedWeights: 1, name: 1, heads: 1, skipPasses: 1,
    };
    expect(COMPILE_KEYS).toEqual(Object.keys(all));
  });

  it("valid options still compile (front end only: model b's error is a diagnostic, not thrown)", async () => {
    const r = await compile(SRC, { file: "two.model", model: "b", simd: "scalar", relaxed: false, heads: ["y"], seed: 3 });
    expect(r.artifact).toBeUndefined();
    expect(r.diagnostics[0]!.loc?.file).toBe("two.model");
    const h = await compile(SRC, { model: "a", heads: ["z"] });
    expect(h.diagnostics.map((d) => d.code)).toEqual(["E0810"]);
  });
});
