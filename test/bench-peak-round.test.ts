// The inference bench's interleaved GEMM-vs-peak measurement: bench/engines/infer.js's `peak` command (bench/peak.js's
// loop, then the workload's module run() alone, in the engine process that just timed the GEMM). Spawns the engine on
// dist/ (npm test builds first). Neighbours: bench/infer.js (sends the command after each GEMM round), bench/peak.js.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { EngineProcess } from "../bench/lib.js";
import { initWeights, writeSafetensors, checkSource } from "../compiler/index.js";

const ENGINE = fileURLToPath(new URL("../bench/engines/infer.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "modelc-peak-round-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("bench engine peak round", () => {
  it("times the peak loop and the module alone, and leaves the workload's output unchanged", async () => {
    const modelFile = join(dir, "g.model");
    writeFileSync(modelFile, "model g {\n  input x: f32[16]\n  output y = x -> fc: dense(8, bias=false)\n}\n");
    const checked = checkSource(`model g {\n  input x: f32[16]\n  output y = x -> fc: dense(8, bias=false)\n}\n`, modelFile);
    const weights = initWeights(checked.graph!, 0);
    writeFileSync(join(dir, "g.safetensors"), writeSafetensors(new Map([...weights].map(([k, t]) => [k, { dtype: "F32", shape: t.shape, data: t.data }]))));
    const x = Float32Array.from({ length: 4 * 16 }, (_, i) => Math.sin(i));
    writeFileSync(join(dir, "g.input.f32"), new Uint8Array(x.buffer));
    const w = { id: "gemm", kind: "gemm", modelFile, weightsFile: join(dir, "g.safetensors"), onnxFile: "", inputFile: join(dir, "g.input.f32"), inputName: "x", inputShape: [16], outputName: "y", batch: 4 };
    writeFileSync(join(dir, "config.json"), JSON.stringify({ workloads: [w] }));
    const p = new EngineProcess("modelc", process.execPath, [ENGINE, "modelc", join(dir, "config.json")]);
    try {
      expect(await p.next()).toEqual({ ready: true, failed: {} });
      const before = await p.request({ cmd: "check", id: "gemm" });
      const out = new Float32Array(new Uint8Array(Buffer.from(before.output, "base64")).buffer);
      // y = x W^T for the seeded weights: check one element against a plain f64 sum
      const fc = weights.get("fc.weight")!;
      let y00 = 0;
      for (let k = 0; k < 16; k++) y00 += x[k]! * fc.data[k]!;
      expect(out.length).toBe(4 * 8);
      expect(out[0]).toBeCloseTo(y00, 5);
      const pk = await p.request({ cmd: "peak", id: "gemm", minMs: 20 });
      expect(pk.error).toBeUndefined();
      expect(pk.cpuGflops).toBeGreaterThan(0.5); // any wasm SIMD loop, even unoptimized, does more
      expect(pk.gflops).toBeGreaterThan(0);
      expect(pk.kernelCpuUs).toBeGreaterThan(0);
      expect(Number.isFinite(pk.kernelCpuUs)).toBe(true);
      const after = await p.request({ cmd: "check", id: "gemm" });
      expect(after.output).toBe(before.output);
      expect((await p.request({ cmd: "peak", id: "nope", minMs: 1 })).error).toMatch(/no kernel round for nope/);
    } finally {
      await p.close();
    }
  });
});
