// The main job (README's first command): compile dsl-examples/mnist-cnn.model to wasm, load it with
// the runtime and run it on 1,000 real MNIST digits, printing latency and throughput.
// Neighbours: compiler/index.ts (compile), runtime/index.ts (loadModel), compiler/data/mnist.ts.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { compile } from "../compiler/index.js";
import { formatDiagnostic } from "../compiler/diagnostics.js";
import { writeArtifactFiles } from "../compiler/artifact/write.js";
import { loadMnist, MNIST_PIXELS } from "../compiler/data/mnist.js";
import { loadModel } from "../runtime/index.js";

const MODEL = "dsl-examples/mnist-cnn.model";
const OUT = "out/demo";
const SAMPLES = 1000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const source = readFileSync(MODEL, "utf8");
  const t0 = performance.now();
  const result = await compile(source, { file: MODEL, seed: 0 });
  const compileMs = performance.now() - t0;
  if (!result.artifact) {
    for (const d of result.diagnostics) console.error(formatDiagnostic(d, { [MODEL]: source }));
    process.exit(1);
  }
  await writeArtifactFiles(OUT, result.artifact.files);
  const name = result.artifact.manifest.name;
  const wasmPath = join(OUT, `${name}.wasm`);
  console.log(`compiled ${MODEL} in ${compileMs.toFixed(0)} ms (incl. binaryen load) -> ${wasmPath}`);
  for (const [file, data] of result.artifact.files)
    console.log(`  ${file.padEnd(28)} ${(typeof data === "string" ? Buffer.byteLength(data) : data.byteLength).toLocaleString()} bytes`);

  const model = await loadModel(wasmPath);
  console.log(`loaded with the ${model.simd ? "SIMD" : "scalar"} module; inputs ${model.inputs.map((i) => i.name)}, outputs ${model.outputs.map((o) => o.name)}`);

  const mnist = loadMnist();
  const n = Math.min(SAMPLES, mnist.count);
  const images = mnist.images.subarray(0, n * MNIST_PIXELS);
  const inputName = model.inputs[0]!.name;
  const logitsName = model.outputs[0]!.name;

  // Batch 1 latency over every sample.
  const lat: number[] = [];
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const x = images.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS);
    const s = performance.now();
    const out = model.run({ [inputName]: x });
    lat.push(performance.now() - s);
    const logits = out[logitsName]!;
    let best = 0;
    for (let c = 1; c < logits.length; c++) if (logits[c]! > logits[best]!) best = c;
    if (best === mnist.labels[i]) correct++;
  }
  // Batch 64 throughput.
  const B = 64;
  const s = performance.now();
  let done = 0;
  for (let i = 0; i + B <= n; i += B) {
    model.run({ [inputName]: images.subarray(i * MNIST_PIXELS, (i + B) * MNIST_PIXELS) }, { batch: B });
    done += B;
  }
  const batchMs = performance.now() - s;
  console.log(`ran ${n} real MNIST digits:`);
  console.log(`  batch 1:  median latency ${(median(lat) * 1000).toFixed(1)} µs, ${(n / (lat.reduce((a, b) => a + b, 0) / 1000)).toFixed(0)} samples/s`);
  console.log(`  batch ${B}: ${(done / (batchMs / 1000)).toFixed(0)} samples/s`);
  console.log(`  accuracy ${((100 * correct) / n).toFixed(1)}% (weights: seeded PyTorch-default init, untrained)`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(2);
});
