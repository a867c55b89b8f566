// The VQA ablation: trains dsl-examples/mnist-vqa.model three times with the same trainer (`modelc train`):
// the full model, the image-only variant (--ablate question) and the question-only variant (--ablate image),
// then prints and writes a side-by-side table of test answer accuracy against the chance baseline.
// Neighbours: compiler/train/ablate.ts (--ablate), compiler/data/vqa.ts (the data), cli/train.ts.
//
// Run: npm run build && node dist/scripts/vqa-ablation.js [--epochs N] [--out DIR] [--parallel]
//      [--model FILE] [--only full,image-only,question-only] [--reuse]
// --reuse: a variant whose DIR/<variant>/metrics.json exists is not trained again (its numbers are read).
// Writes DIR/ablation.md (the table) and DIR/ablation.json; each run's artifact, curves and metrics in DIR/<variant>/.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { mnistVqaDataset, VQA_QUESTIONS } from "../compiler/data/vqa.js";
import type { Dataset } from "../compiler/data/dataset.js";
import { loadModel } from "../runtime/index.js";
import { splitDataset } from "../compiler/data/split.js";
import { checkSource } from "../compiler/check.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, HERE.includes(`${"dist"}`) ? "../.." : "..");
const CLI = join(ROOT, "dist", "compiler", "cli", "main.js");

/** One trained variant: which input is ablated and what came out. */
interface Variant {
  name: "full" | "image-only" | "question-only";
  ablate?: "image" | "question";
  accuracy?: number;
  loss?: number;
  epochs?: number;
  seconds?: number;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Run `modelc train` for one variant; resolves with the wall time in seconds. Output goes to DIR/<name>/train.log. */
function runVariant(v: Variant, model: string, out: string, epochs: string | undefined): Promise<number> {
  const dir = join(out, v.name);
  mkdirSync(dir, { recursive: true });
  const args = [CLI, "train", model, "-o", dir, "--progress", "lines", ...(epochs ? ["--epochs", epochs] : []), ...(v.ablate ? ["--ablate", v.ablate] : [])];
  const t0 = Date.now();
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    const log: string[] = [];
    const take = (b: Buffer): void => {
      const s = b.toString();
      log.push(s);
      for (const line of s.split("\n")) if (line.trim()) console.log(`[${v.name}] ${line}`);
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("close", (code) => {
      writeFileSync(join(dir, "train.log"), log.join(""));
      if (code === 0) res((Date.now() - t0) / 1000);
      else rej(new Error(`modelc train ${v.name} exited with ${code}`));
    });
  });
}

/** The test split the trainer uses (same data seed, split sizes and seed as the model's train section). */
function testSplit(model: string): Dataset {
  const checked = checkSource(readFileSync(model, "utf8"), model);
  const spec = checked.train;
  if (!spec || spec.data.source !== "mnist_vqa") throw new Error(`${model}: expected a train section with data = mnist_vqa(...)`);
  const ds = mnistVqaDataset({ seed: spec.data.seed ?? 0 });
  return splitDataset(ds, { train: spec.split.train, validation: spec.split.validation, test: spec.split.test }, spec.seed).test;
}

/** Majority-answer rate on the test split. */
function chanceBaseline(test: Dataset): { chance: number; yes: number; samples: number } {
  const answer = test.fields["answer"]!.data;
  let yes = 0;
  for (let i = 0; i < test.count; i++) yes += answer[i]!;
  return { chance: Math.max(yes, test.count - yes) / test.count, yes: yes / test.count, samples: test.count };
}

/** Test accuracy of the trained full model's artifact (DIR/full/NAME.wasm) per question family. */
async function perFamily(dir: string, name: string, test: Dataset): Promise<Record<string, { correct: number; total: number }>> {
  const m = await loadModel(join(dir, `${name}.wasm`));
  const out = m.run({ image: test.fields["image"]!.data as Float32Array, question: test.fields["question"]!.data as Int32Array });
  const logits = out["logits"]!;
  const res: Record<string, { correct: number; total: number }> = {};
  for (let i = 0; i < test.count; i++) {
    const fam = VQA_QUESTIONS[test.fields["question_id"]!.data[i]!]!.family;
    const r = (res[fam] ??= { correct: 0, total: 0 });
    const pred = logits[2 * i + 1]! > logits[2 * i]! ? 1 : 0;
    r.total++;
    if (pred === test.fields["answer"]!.data[i]) r.correct++;
  }
  return res;
}

function pct(x: number | undefined): string {
  return x === undefined ? "—" : `${(100 * x).toFixed(1)}%`;
}

async function main(): Promise<void> {
  const model = resolve(arg("--model") ?? join(ROOT, "dsl-examples", "mnist-vqa.model"));
  const out = resolve(arg("--out") ?? join(ROOT, "out", "vqa-ablation"));
  const epochs = arg("--epochs");
  const only = arg("--only")?.split(",");
  const all: Variant[] = [
    { name: "full" },
    { name: "image-only", ablate: "question" },
    { name: "question-only", ablate: "image" },
  ];
  const variants = all.filter((v) => !only || only.includes(v.name));
  const test = testSplit(model);
  const base = chanceBaseline(test);
  const reuse = process.argv.includes("--reuse");
  // Wall times of reused variants come from the previous ablation.json, when there is one.
  const prevFile = join(out, "ablation.json");
  const prev = reuse && existsSync(prevFile) ? (JSON.parse(readFileSync(prevFile, "utf8")) as { variants: Variant[] }).variants : [];
  for (const v of variants) {
    const s = prev.find((p) => p.name === v.name)?.seconds;
    if (s !== undefined) v.seconds = s;
  }
  const runs = variants.map((v) => async () => {
    if (!(reuse && existsSync(join(out, v.name, "metrics.json")))) v.seconds = await runVariant(v, model, out, epochs);
    const m = JSON.parse(readFileSync(join(out, v.name, "metrics.json"), "utf8")) as { epochs: number; test: { loss: number; metrics: { accuracy: number } } };
    v.accuracy = m.test.metrics.accuracy;
    v.loss = m.test.loss;
    v.epochs = m.epochs;
  });
  if (process.argv.includes("--parallel")) await Promise.all(runs.map((r) => r()));
  else for (const r of runs) await r();

  const rows = [
    "| variant | inputs fed | test answer accuracy | test loss | chance baseline | epochs | wall time |",
    "|---|---|---|---|---|---|---|",
    ...variants.map((v) =>
      `| ${v.name} | ${v.ablate ? `${v.ablate === "image" ? "question" : "image"} (zeros for ${v.ablate})` : "image + question"} | ${pct(v.accuracy)} | ${v.loss?.toFixed(4) ?? "—"} | ${pct(base.chance)} | ${v.epochs ?? "—"} | ${v.seconds?.toFixed(0) ?? "—"} s |`,
    ),
  ];
  const full = variants.find((v) => v.name === "full" && v.accuracy !== undefined);
  const name = checkSource(readFileSync(model, "utf8"), model).graph!.name;
  const fam = full ? await perFamily(join(out, "full"), name, test) : undefined;
  if (fam)
    rows.push(
      "",
      `full model, test accuracy per question family (artifact ${join(out, "full", `${name}.wasm`).replace(ROOT + "/", "")}): ` +
        Object.entries(fam).map(([k, r]) => `${k} ${pct(r.correct / r.total)} of ${r.total}`).join(", "),
    );
  const text = [
    `VQA ablation: ${model.replace(ROOT + "/", "")}, test split ${base.samples} held-out digits (yes ${pct(base.yes)}; chance = majority answer ${pct(base.chance)})`,
    "",
    ...rows,
    "",
  ].join("\n");
  console.log("\n" + text);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "ablation.md"), text);
  writeFileSync(join(out, "ablation.json"), JSON.stringify({ model, baseline: base, variants, ...(fam ? { perFamily: fam } : {}) }, null, 1) + "\n");
  console.log(`wrote ${join(out, "ablation.md")} and ${join(out, "ablation.json")}`);
}

main().catch((e: unknown) => {
  console.error((e as Error).message);
  process.exit(1);
});
