// Inference-latency engine (`node engines/infer.js ENGINE CONFIG_JSON_FILE`), ENGINE = modelc | modelc-relaxed (run
// under node --experimental-wasm-relaxed-simd) | ort-web | ort-node | tfjs-wasm: sets up every workload of the config, then answers the parent's `check` / `round` commands (one line each).
// Neighbours: bench/infer.js (parent, writes the config, weights, ONNX files and inputs); bench/lib.js (protocol prefix).
// @ts-check

import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { PROTOCOL_PREFIX } from "../lib.js";

/**
 * @typedef {{id: string, kind: "mlp" | "cnn" | "gemm" | "transformer", modelFile: string, weightsFile: string,
 *   onnxFile: string, inputFile: string, inputName: string, inputShape: number[], outputName: string, batch: number}} Workload
 * @typedef {{run: () => Promise<Float32Array> | Float32Array, kernel?: () => void}} Runner  one inference, input array to output
 *   array; modelc also `kernel`: the module's run(batch) alone, without the runtime's input and output copies
 */

const engine = process.argv[2] ?? "";
/** @type {{workloads: Workload[]}} */
const config = JSON.parse(readFileSync(process.argv[3] ?? "", "utf8"));
const send = (/** @type {unknown} */ msg) => process.stdout.write(PROTOCOL_PREFIX + JSON.stringify(msg) + "\n");
const dist = (/** @type {string} */ path) => new URL(`../../dist/${path}`, import.meta.url).href;

/** @param {string} file */
function readF32(file) {
  const b = readFileSync(file);
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

/** @param {Workload} w @returns {Promise<Map<string, {shape: number[], data: Float32Array}>>} */
async function weightsOf(w) {
  const { readSafetensors } = await import(dist("compiler/weights/safetensors.js"));
  return readSafetensors(new Uint8Array(readFileSync(w.weightsFile)));
}

/**
 * modelc's SIMD build NAME.wasm, or (`relaxed`) its relaxed-SIMD build NAME.relaxed.wasm (fused multiply-add GEMM),
 * which needs a host with relaxed SIMD (loadModel relaxed: "force" fails clearly otherwise).
 * @param {boolean} relaxed @returns {Promise<(w: Workload) => Promise<Runner>>}
 */
async function modelcSetup(relaxed) {
  const { compile } = await import(dist("compiler/index.js"));
  const { loadModel } = await import(dist("runtime/index.js"));
  return async (w) => {
    const r = await compile(readFileSync(w.modelFile, "utf8"), { file: w.modelFile, weights: new Uint8Array(readFileSync(w.weightsFile)), simd: "simd", relaxed });
    if (!r.artifact) throw new Error(r.diagnostics.map((/** @type {{message: string}} */ d) => d.message).join("; "));
    const file = `${r.artifact.manifest.name}${relaxed ? ".relaxed" : ""}.wasm`;
    if (!r.artifact.files.has(file)) throw new Error(`no ${file}: the graph has no kernel with a multiply-add`);
    const model = await loadModel(r.artifact.files.get(file), { relaxed: relaxed ? "force" : "off" });
    const x = readF32(w.inputFile);
    // The module's exported run(batch) alone (runtime/model.ts keeps it as runFn), on the input run() last copied in.
    const moduleRun = /** @type {{runFn: (batch: number) => void}} */ (/** @type {unknown} */ (model)).runFn;
    return { run: () => model.run({ [w.inputName]: x }, { batch: w.batch })[w.outputName], kernel: () => moduleRun(w.batch) };
  };
}

/** @param {"ort-web" | "ort-node"} which @returns {Promise<(w: Workload) => Promise<Runner>>} */
async function ortSetup(which) {
  /** @type {any} */
  const ort = which === "ort-web" ? await import("onnxruntime-web") : (await import("onnxruntime-node")).default;
  if (which === "ort-web") {
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.simd = true;
  }
  return async (w) => {
    const opts = which === "ort-web" ? { executionProviders: ["wasm"], graphOptimizationLevel: "all" } : { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: "all" };
    const session = await ort.InferenceSession.create(new Uint8Array(readFileSync(w.onnxFile)), opts);
    const x = readF32(w.inputFile);
    const shape = [w.batch, ...w.inputShape];
    return {
      run: async () => {
        const out = await session.run({ [w.inputName]: new ort.Tensor("float32", x, shape) });
        return /** @type {Float32Array} */ (out[w.outputName].data);
      },
    };
  };
}

/**
 * The workloads as tfjs ops in tfjs' NHWC layout, with the same weights: conv kernels OIHW -> HWIO, dense weights
 * transposed, and the first dense after an NHWC flatten has its input rows permuted to the NCHW flatten order.
 * The input is transposed to NHWC once, before timing.
 * @returns {Promise<(w: Workload) => Promise<Runner>>}
 */
async function tfjsSetup() {
  const tf = await import("@tensorflow/tfjs");
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  wasm.setThreadsCount(1);
  await tf.setBackend("wasm");
  await tf.ready();
  return async (w) => {
    const W = await weightsOf(w);
    const t = (/** @type {string} */ name) => {
      const v = W.get(name);
      if (!v) throw new Error(`tfjs: no weight ${name}`);
      return tf.tensor(Float32Array.from(v.data), v.shape);
    };
    const denseW = (/** @type {string} */ name) => tf.keep(t(name).transpose());
    const x0 = readF32(w.inputFile);
    /** @type {any} */
    let input;
    /** @type {(x: any) => any} */
    let f;
    if (w.kind === "mlp") {
      const [w1, w2, w3] = ["fc1", "fc2", "fc3"].map((n) => denseW(`${n}.weight`));
      const [b1, b2, b3] = ["fc1", "fc2", "fc3"].map((n) => tf.keep(t(`${n}.bias`)));
      input = tf.tensor(x0, [w.batch, 784]);
      f = (x) => tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2), b2)), w3), b3);
    } else if (w.kind === "cnn") {
      const k1 = tf.keep(t("conv1.weight").transpose([2, 3, 1, 0]));
      const k2 = tf.keep(t("conv2.weight").transpose([2, 3, 1, 0]));
      const [c1, c2] = [tf.keep(t("conv1.bias")), tf.keep(t("conv2.bias"))];
      // fc.weight [10, 16*7*7] in NCHW flatten order (c, h, w) -> rows in NHWC order (h, w, c)
      const fw = tf.keep(t("fc.weight").reshape([10, 16, 7, 7]).transpose([2, 3, 1, 0]).reshape([7 * 7 * 16, 10]));
      const fb = tf.keep(t("fc.bias"));
      input = tf.keep(tf.tensor(x0, [w.batch, 1, 28, 28]).transpose([0, 2, 3, 1]));
      f = (x) => {
        const h = tf.maxPool(tf.relu(tf.add(tf.conv2d(x, k1, 1, "same"), c1)), 2, 2, "valid");
        const g = tf.maxPool(tf.relu(tf.add(tf.conv2d(h, k2, 1, "same"), c2)), 2, 2, "valid");
        return tf.add(tf.matMul(g.reshape([w.batch, 7 * 7 * 16]), fw), fb);
      };
    } else if (w.kind === "gemm") {
      const fw = denseW("fc.weight");
      input = tf.tensor(x0, [w.batch, 512]);
      f = (x) => tf.matMul(x, fw);
    } else if (w.kind === "transformer") {
      // dsl-examples/transformer-block.model: x + attn(ln1(x)), then h + linear2(gelu(linear1(ln2(h)))) (PyTorch
      // nn.TransformerEncoderLayer, norm_first, exact GELU); weights under "layer.".
      const [L, E] = w.inputShape;
      const H = 4;
      const d = E / H;
      const p = (/** @type {string} */ n) => tf.keep(t(`layer.${n}`));
      const win = t("layer.self_attn.in_proj_weight");
      const bin = t("layer.self_attn.in_proj_bias");
      const [wq, wk, wv] = [0, 1, 2].map((k) => tf.keep(win.slice([k * E, 0], [E, E]).transpose()));
      const [bq, bk, bv] = [0, 1, 2].map((k) => tf.keep(bin.slice([k * E], [E])));
      const wo = denseW("layer.self_attn.out_proj.weight");
      const bo = p("self_attn.out_proj.bias");
      const [w1, w2] = [denseW("layer.linear1.weight"), denseW("layer.linear2.weight")];
      const [b1, b2] = [p("linear1.bias"), p("linear2.bias")];
      const [g1, be1, g2, be2] = [p("norm1.weight"), p("norm1.bias"), p("norm2.weight"), p("norm2.bias")];
      const B = w.batch;
      const ln = (/** @type {any} */ x, /** @type {any} */ g, /** @type {any} */ b) => {
        const { mean, variance } = tf.moments(x, -1, true);
        return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), g), b);
      };
      const lin = (/** @type {any} */ x, /** @type {any} */ wt, /** @type {any} */ b) => tf.add(tf.matMul(x.reshape([-1, wt.shape[0]]), wt), b).reshape([B, L, wt.shape[1]]);
      const heads = (/** @type {any} */ x) => x.reshape([B, L, H, d]).transpose([0, 2, 1, 3]);
      input = tf.tensor(x0, [B, L, E]);
      f = (x) => {
        const a = ln(x, g1, be1);
        const q = heads(lin(a, wq, bq));
        const k = heads(lin(a, wk, bk));
        const v = heads(lin(a, wv, bv));
        const att = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(d)));
        const o = tf.matMul(att, v).transpose([0, 2, 1, 3]).reshape([B, L, E]);
        const h = tf.add(x, lin(o, wo, bo));
        const u = lin(ln(h, g2, be2), w1, b1);
        const gelu = tf.mul(tf.mul(u, 0.5), tf.add(tf.erf(tf.mul(u, Math.SQRT1_2)), 1));
        return tf.add(h, lin(gelu, w2, b2));
      };
    } else throw new Error(`tfjs: no ${w.kind} graph in this bench`);
    return {
      run: () => {
        const y = tf.tidy(() => f(input));
        const out = /** @type {Float32Array} */ (y.dataSync());
        y.dispose();
        return out;
      },
    };
  };
}

/** @type {Record<string, () => Promise<(w: Workload) => Promise<Runner>>>} */
const SETUPS = { modelc: () => modelcSetup(false), "modelc-relaxed": () => modelcSetup(true), "ort-web": () => ortSetup("ort-web"), "ort-node": () => ortSetup("ort-node"), "tfjs-wasm": tfjsSetup };

/** @type {Map<string, Runner>} */
const runners = new Map();
/** @type {Record<string, string>} */
const failed = {};
try {
  const setupFor = SETUPS[engine];
  if (!setupFor) throw new Error(`unknown engine '${engine}' (${Object.keys(SETUPS).join(", ")})`);
  const make = await setupFor();
  for (const w of config.workloads) {
    try {
      runners.set(w.id, await make(w));
    } catch (e) {
      failed[w.id] = e instanceof Error ? e.message.split("\n")[0] : String(e);
    }
  }
  send({ ready: true, failed });
} catch (e) {
  send({ error: e instanceof Error ? e.message : String(e) });
  process.exit(0);
}

/** @type {{run: (n: number) => void, flopsPerIter: number} | undefined} */
let peakLoop;

/**
 * One round of bench/peak.js's loop in this process (modelc engines: plain SIMD, or relaxed FMA in modelc-relaxed),
 * calls of 2^16 iterations until `minMs` have passed: GFLOP/s per CPU-second of this process, and wall.
 * @param {number} minMs @returns {Promise<{cpuGflops: number, gflops: number}>}
 */
async function peakRound(minMs) {
  if (engine !== "modelc" && engine !== "modelc-relaxed") throw new Error(`no peak round in engine ${engine}`);
  peakLoop ??= await (await import("../peak.js")).peakRunner(engine === "modelc-relaxed");
  const iters = 1 << 16;
  let n = 0;
  const c0 = process.cpuUsage();
  const start = performance.now();
  do {
    peakLoop.run(iters);
    n++;
  } while (performance.now() - start < minMs);
  const wall = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(c0);
  const flops = n * iters * peakLoop.flopsPerIter;
  return { cpuGflops: flops / ((cpu.user + cpu.system) / 1e6) / 1e9, gflops: flops / wall / 1e9 };
}

// Commands: {cmd: "check", id} -> {output: base64 f32}; {cmd: "round", id, minMs, maxIters} -> {us: [per-call µs],
// cpuUs: this process's CPU µs per call over the round, all threads} (calls timed one by one, at least 3, until minMs
// have passed); {cmd: "peak", id, minMs} (modelc engines) -> {cpuGflops, gflops} of one peakRound, then kernelCpuUs: CPU
// µs per call of the workload's module run(batch) alone over a round of minMs; {cmd: "quit"}.
const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  const cmd = JSON.parse(line);
  if (cmd.cmd === "quit") break;
  if (cmd.cmd === "peak") {
    try {
      const kernel = runners.get(cmd.id)?.kernel;
      if (!kernel) throw new Error(`engine ${engine} has no kernel round for ${cmd.id}`);
      const peak = await peakRound(cmd.minMs);
      let n = 0;
      const c0 = process.cpuUsage();
      const start = performance.now();
      do {
        kernel();
        n++;
      } while (performance.now() - start < cmd.minMs);
      const cpu = process.cpuUsage(c0);
      send({ ...peak, kernelCpuUs: (cpu.user + cpu.system) / n });
    } catch (e) {
      send({ error: e instanceof Error ? e.message : String(e) });
    }
    continue;
  }
  const r = runners.get(cmd.id);
  if (!r) {
    send({ error: failed[cmd.id] ?? `no workload ${cmd.id}` });
    continue;
  }
  try {
    if (cmd.cmd === "check") {
      const out = await r.run();
      send({ output: Buffer.from(out.buffer, out.byteOffset, out.byteLength).toString("base64") });
    } else {
      /** @type {number[]} */
      const us = [];
      const c0 = process.cpuUsage();
      const start = performance.now();
      while (us.length < 3 || (performance.now() - start < cmd.minMs && us.length < cmd.maxIters)) {
        const t0 = performance.now();
        await r.run();
        us.push((performance.now() - t0) * 1000);
      }
      const cpu = process.cpuUsage(c0);
      send({ us, cpuUs: (cpu.user + cpu.system) / us.length });
    }
  } catch (e) {
    send({ error: e instanceof Error ? e.message : String(e) });
  }
}
rl.close();
process.exit(0);
