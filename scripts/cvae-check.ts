// CVAE acceptance check (issue 4): generate digits per class with a trained mnist-cvae artifact, classify them
// with the tool's own trained mnist-cnn artifact, print per-class and overall accuracy, write the sample grid.
// Neighbours: compiler/cli/sample.ts (generateByClass, samplesPng), dsl-examples/mnist-cvae.model, mnist-cnn.model.
//
//   npm run build
//   node dist/compiler/cli/main.js train dsl-examples/mnist-cnn.model -o /tmp/cnn
//   node dist/compiler/cli/main.js train dsl-examples/mnist-cvae.model -o /tmp/cvae
//   node dist/scripts/cvae-check.js --cvae /tmp/cvae/mnist_cvae.wasm --cnn /tmp/cnn/mnist_cnn.wasm \
//     --per-class 100 --seed 0 --png /tmp/cvae/samples.png [--json /tmp/cvae/check.json]
// Exit code 0 when the overall accuracy is >= --min (default 0.9), else 1.

import { parseArgs } from "node:util";
import { loadModel } from "../runtime/index.js";
import { generateByClass, samplesPng, type Generated } from "../compiler/cli/sample.js";
import { writeFileAtomic } from "../compiler/io/atomic.js";

const USAGE = "usage: node dist/scripts/cvae-check.js --cvae CVAE.wasm --cnn CNN.wasm [--per-class 100] [--seed 0] [--png samples.png] [--grid-per-class 10] [--json check.json] [--min 0.9]";

/** The parsed flags; a bad flag prints the usage line and exits 1 (no stack trace). */
function flags(): Record<string, string | boolean | undefined> {
  try {
    const { values } = parseArgs({
      options: {
        cvae: { type: "string", default: "/tmp/cvae/mnist_cvae.wasm" },
        cnn: { type: "string", default: "/tmp/cnn/mnist_cnn.wasm" },
        "per-class": { type: "string", default: "100" },
        seed: { type: "string", default: "0" },
        png: { type: "string", default: "/tmp/cvae/samples.png" },
        "grid-per-class": { type: "string", default: "10" },
        json: { type: "string" },
        min: { type: "string", default: "0.9" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      console.log(USAGE);
      process.exit(0);
    }
    return values;
  } catch (e) {
    console.error(`cvae-check: ${(e as Error).message}\n${USAGE}`);
    process.exit(1);
  }
}
const a = flags() as Record<string, string | undefined>;

const perClass = Number(a["per-class"]);
/** loadModel, with a missing or broken artifact reported in one line (exit 1). */
async function load(path: string, what: string): Promise<Awaited<ReturnType<typeof loadModel>>> {
  try {
    return await loadModel(path);
  } catch (e) {
    console.error(`cvae-check: ${what}: ${(e as Error).message}\n${USAGE}`);
    process.exit(1);
  }
}
const gen = await load(a.cvae!, "--cvae");
const g = generateByClass(gen, { perClass, seed: Number(a.seed) });
const cnn = await load(a.cnn!, "--cnn");
const input = cnn.inputs[0]!;
const logitsSpec = cnn.outputs.find((o) => o.shape.length === 2)!;
const C = logitsSpec.shape[1] as number;
const n = g.classes * perClass;
const logits = cnn.run({ [input.name]: g.images }, { batch: n })[logitsSpec.name] as Float32Array;

const correct = new Array<number>(g.classes).fill(0);
const confusion = Array.from({ length: g.classes }, () => new Array<number>(C).fill(0));
for (let i = 0; i < n; i++) {
  let best = 0;
  for (let c = 1; c < C; c++) if (logits[i * C + c]! > logits[i * C + best]!) best = c;
  const want = g.labels[i]!;
  confusion[want]![best]!++;
  if (best === want) correct[want]!++;
}
const overall = correct.reduce((s, x) => s + x, 0) / n;
console.log(`${n} generated digits (${perClass} per class, seed ${a.seed}) from ${a.cvae}, classified by ${a.cnn}`);
for (let k = 0; k < g.classes; k++) console.log(`  class ${k}: ${((100 * correct[k]!) / perClass).toFixed(1)}%  (predicted: ${confusion[k]!.join(" ")})`);
console.log(`overall: ${(100 * overall).toFixed(2)}% assigned to their conditioning class (target >= ${(100 * Number(a.min)).toFixed(0)}%)`);

// Grid: the first `grid-per-class` samples of every class, one row per class.
const gp = Math.min(perClass, Number(a["grid-per-class"]));
const per = g.shape.reduce((x, y) => x * y, 1);
const sub: Generated = { ...g, perClass: gp, images: new Float32Array(g.classes * gp * per) };
for (let k = 0; k < g.classes; k++) sub.images.set(g.images.subarray(k * perClass * per, (k * perClass + gp) * per), k * gp * per);
const { png, width, height } = samplesPng(sub, 2);
await writeFileAtomic(a.png!, png);
console.log(`wrote ${a.png} (${width} x ${height} px, ${g.classes} rows x ${gp})`);
if (a.json) await writeFileAtomic(a.json, JSON.stringify({ perClass, seed: Number(a.seed), overall, perClassAccuracy: correct.map((c) => c / perClass), confusion }, null, 1) + "\n");
process.exitCode = overall >= Number(a.min) ? 0 : 1;
