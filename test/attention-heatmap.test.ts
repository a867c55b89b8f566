// `modelc attention`: heatmap PNGs of attention weights (pngjs), checked pixel by pixel against the float64
// weights; causal and padding masks visible as the zero colour; several layers, --layer/--head/--sample, errors.

import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";
import { describe, expect, it } from "vitest";
import { main } from "../compiler/cli/main.js";
import { bufferIo } from "../compiler/cli/common.js";
import { colormap, renderHeatmap } from "../compiler/cli/heatmap.js";
import { writeNpy } from "../compiler/data/npy.js";
import { attentionWeights } from "../compiler/interp/attention-weights.js";
import { initWeights } from "../compiler/weights/init.js";
import { writeSafetensors } from "../compiler/weights/safetensors.js";
import { lowerSource } from "./autodiff.helpers.js";

const dir = mkdtempSync(join(tmpdir(), "modelc-attn-"));
const pixel = (png: PNG, x: number, y: number): number[] => Array.from(png.data.subarray((y * png.width + x) * 4, (y * png.width + x) * 4 + 3));

const SRC = `model m {
  input x: f32[6, 8]
  input kv: f32[5, 8]
  input ids: i32[5]
  let h = x -> self: multihead_attention(num_heads=2, causal=true)
  output y = cross: multihead_attention(h, kv, padding_mask(ids, pad_id=0), num_heads=4)
}
`;

function inputs(): { x: Float32Array; kv: Float32Array; ids: Int32Array } {
  const x = Float32Array.from({ length: 2 * 6 * 8 }, (_, k) => Math.fround(Math.sin(k * 0.9)));
  const kv = Float32Array.from({ length: 2 * 5 * 8 }, (_, k) => Math.fround(Math.cos(k * 0.7)));
  const ids = Int32Array.from([4, 9, 0, 3, 0, 0, 0, 0, 0, 0]); // sample 1: every key padded
  return { x, kv, ids };
}

describe("renderHeatmap", () => {
  it("one cell per entry, colour from 0 to the maximum", () => {
    const { png, cell, max } = renderHeatmap([0, 0.5, 1, 0.25], 2, 2, { cell: 3 });
    expect([cell, max]).toEqual([3, 1]);
    const img = PNG.sync.read(Buffer.from(png));
    expect([img.width, img.height]).toEqual([6, 6]);
    expect(pixel(img, 0, 0)).toEqual(colormap(0));
    expect(pixel(img, 5, 0)).toEqual(colormap(0.5));
    expect(pixel(img, 2, 5)).toEqual(colormap(1));
    expect(pixel(img, 4, 4)).toEqual(colormap(0.25));
  });
});

describe("modelc attention", () => {
  const src = join(dir, "m.model");
  writeFileSync(src, SRC);
  const { x, kv, ids } = inputs();
  writeFileSync(join(dir, "x.npy"), writeNpy({ shape: [2, 6, 8], data: x }));
  writeFileSync(join(dir, "kv.npy"), writeNpy({ shape: [2, 5, 8], data: kv }));
  writeFileSync(join(dir, "ids.npy"), writeNpy({ shape: [2, 5], data: ids }));
  const args = ["-i", `x=${join(dir, "x.npy")}`, "-i", `kv=${join(dir, "kv.npy")}`, "-i", `ids=${join(dir, "ids.npy")}`];

  it("one PNG per layer; pixels are the float64 weights; causal upper triangle and padded keys are 0", async () => {
    const io = bufferIo();
    const out = join(dir, "heat.png");
    expect(await main(["attention", src, ...args, "-o", out], io)).toBe(0);
    expect(io.stdout.join("\n")).toMatch(/wrote .*heat\.self\.png: layer self, sample 0, mean of 2 heads; 6 queries \(rows\) x 6 keys/);
    const g = lowerSource(SRC);
    const maps = attentionWeights(g, initWeights(g, 0), {
      x: { shape: [2, 6, 8], data: Float64Array.from(x) },
      kv: { shape: [2, 5, 8], data: Float64Array.from(kv) },
      ids: { shape: [2, 5], data: Float64Array.from(ids) },
    });
    for (const m of maps) {
      const img = PNG.sync.read(readFileSync(join(dir, `heat.${m.layer}.png`)));
      const cell = img.width / m.S;
      expect(img.height / cell).toBe(m.L);
      let max = 0;
      for (let k = 0; k < m.L * m.S; k++) max = Math.max(max, m.mean[k]!);
      for (let i = 0; i < m.L; i++)
        for (let j = 0; j < m.S; j++) {
          const w = m.mean[i * m.S + j]!;
          if (m.layer === "self" && j > i) expect(w).toBe(0);
          if (m.layer === "cross" && (j === 2 || j === 4)) expect(w).toBe(0);
          expect(pixel(img, j * cell, i * cell)).toEqual(colormap(w / max));
        }
    }
  });

  it("--layer, --head, --sample (a fully padded sample is all zero, not NaN)", async () => {
    const io = bufferIo();
    const out = join(dir, "one.png");
    expect(await main(["attention", src, ...args, "--layer", "cross", "--sample", "1", "--head", "3", "-o", out], io)).toBe(0);
    expect(io.stdout.join("\n")).toMatch(/layer cross, sample 1, head 3 of 4; 6 queries \(rows\) x 5 keys/);
    const img = PNG.sync.read(readFileSync(out));
    for (let y = 0; y < img.height; y += 7) for (let xx = 0; xx < img.width; xx += 7) expect(pixel(img, xx, y)).toEqual(colormap(0));
    expect(existsSync(join(dir, "one.self.png"))).toBe(false);
  });

  it("--weights: a state_dict or a training checkpoint (its optim.* tensors are ignored)", async () => {
    const g = lowerSource(SRC);
    const w = initWeights(g, 5);
    const tensors = new Map([...w].map(([k, t]) => [k, { dtype: "F32" as const, shape: t.shape, data: t.data }]));
    tensors.set("optim.self.in_proj_weight.exp_avg", { dtype: "F32", shape: [24, 8], data: new Float32Array(192) });
    writeFileSync(join(dir, "ckpt.safetensors"), writeSafetensors(tensors));
    const io = bufferIo();
    const out = join(dir, "w.png");
    expect(await main(["attention", src, ...args, "--weights", join(dir, "ckpt.safetensors"), "--layer", "self", "-o", out], io)).toBe(0);
    const m = attentionWeights(g, w, {
      x: { shape: [2, 6, 8], data: Float64Array.from(x) },
      kv: { shape: [2, 5, 8], data: Float64Array.from(kv) },
      ids: { shape: [2, 5], data: Float64Array.from(ids) },
    }, ["self"])[0]!;
    const img = PNG.sync.read(readFileSync(out));
    const max = Math.max(...m.mean.subarray(0, 36));
    expect(pixel(img, img.width - 1, img.height - 1)).toEqual(colormap(m.mean[35]! / max));
  });

  it("errors: unknown layer, bad head, missing input, model without attention", async () => {
    let io = bufferIo();
    expect(await main(["attention", src, ...args, "--layer", "nope"], io)).toBe(1);
    expect(io.stderr.join("\n")).toMatch(/no attention layer 'nope'; the model's attention layers are: self, cross/);
    io = bufferIo();
    expect(await main(["attention", src, ...args, "--layer", "self", "--head", "2", "-o", join(dir, "h.png")], io)).toBe(1);
    expect(io.stderr.join("\n")).toMatch(/--head 2 is outside layer 'self''s 2 heads/);
    io = bufferIo();
    expect(await main(["attention", src, "-i", `x=${join(dir, "x.npy")}`], io)).toBe(1);
    expect(io.stderr.join("\n")).toMatch(/missing --input for 'kv' \[N, 5, 8\], 'ids' \[N, 5\]/);
    const plain = join(dir, "plain.model");
    writeFileSync(plain, "model p {\n  input x: f32[4]\n  output y = x -> dense(2)\n}\n");
    io = bufferIo();
    expect(await main(["attention", plain, "-i", join(dir, "x.npy")], io)).toBe(1);
    expect(io.stderr.join("\n")).toMatch(/has no multihead_attention layer/);
  });
});
