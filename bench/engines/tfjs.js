// Training-speed engine for TensorFlow.js (`node engines/tfjs.js cpu|wasm CONFIG_JSON`): the MNIST CNN or MLP as
// tf.layers, Adam, softmax cross-entropy, one step per batch. Neighbours: bench/train.js spawns it; bench/lib.js (protocol).
// @ts-check

import { readBenchData, serveEngine } from "../lib.js";

/**
 * Same architectures as dsl-examples/mnist-cnn.model and mnist-mlp.model, in tfjs' native NHWC layout (the data is
 * transposed once, before timing). Dropout(0.25) is active in training steps (model.apply with training: true).
 * @param {typeof import("@tensorflow/tfjs")} tf @param {"cnn" | "mlp"} kind
 */
function buildModel(tf, kind) {
  const m = tf.sequential();
  if (kind === "cnn") {
    // conv -> batchnorm -> relu -> maxpool, twice: the `stage` block of mnist-cnn.model.
    m.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 16, kernelSize: 3, padding: "same" }));
    m.add(tf.layers.batchNormalization({ axis: 3, epsilon: 1e-5, momentum: 0.9 }));
    m.add(tf.layers.reLU());
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: "same" }));
    m.add(tf.layers.batchNormalization({ axis: 3, epsilon: 1e-5, momentum: 0.9 }));
    m.add(tf.layers.reLU());
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 128, activation: "relu" }));
    m.add(tf.layers.dropout({ rate: 0.25 }));
    m.add(tf.layers.dense({ units: 10 }));
  } else {
    m.add(tf.layers.flatten({ inputShape: [28, 28, 1] }));
    m.add(tf.layers.dense({ units: 256, activation: "relu" }));
    m.add(tf.layers.dense({ units: 128, activation: "relu" }));
    m.add(tf.layers.dense({ units: 10 }));
  }
  return m;
}

const backend = process.argv[2];
/** @type {{model: "cnn" | "mlp", batch: number, samples: number, data: string, lr: number, seed: number}} */
const config = JSON.parse(process.argv[3] ?? "{}");

await serveEngine(async () => {
  // the tfjs-node banner goes to console.log; the protocol ignores non-prefixed lines anyway
  const tf = await import("@tensorflow/tfjs");
  let threads = 1;
  if (backend === "wasm") {
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    wasm.setThreadsCount(1);
    await tf.setBackend("wasm");
    threads = wasm.getThreadsCount();
  } else if (backend === "cpu") await tf.setBackend("cpu");
  else throw new Error(`unknown tfjs backend '${backend}' (cpu | wasm)`);
  await tf.ready();
  if (tf.getBackend() !== backend) throw new Error(`tfjs could not switch to the ${backend} backend`);

  const { batch, samples } = config;
  const { images, labels } = readBenchData(config.data);
  /** @type {{x: import("@tensorflow/tfjs").Tensor, y: import("@tensorflow/tfjs").Tensor}[]} */
  const batches = [];
  for (let s = 0; s + batch <= samples; s += batch) {
    // NCHW [b, 1, 28, 28] and NHWC [b, 28, 28, 1] hold the same bytes when C = 1
    const x = tf.tensor4d(images.subarray(s * 784, (s + batch) * 784), [batch, 28, 28, 1]);
    const y = tf.oneHot(tf.tensor1d(labels.subarray(s, s + batch), "int32"), 10);
    batches.push({ x, y });
  }
  const model = buildModel(tf, config.model);
  const optimizer = tf.train.adam(config.lr, 0.9, 0.999, 1e-8);
  let k = 0;
  const step = () => {
    const { x, y } = batches[k++ % batches.length];
    const loss = optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy(y, /** @type {import("@tensorflow/tfjs").Tensor} */ (model.apply(x, { training: true }))),
      true,
    );
    if (!loss) throw new Error("optimizer.minimize returned no loss");
    const value = loss.dataSync()[0];
    loss.dispose();
    return value;
  };
  return { info: { version: tf.version.tfjs, backend, threads }, step, batch };
});
