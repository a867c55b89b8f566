// `modelc train` / `modelc eval` end to end on a tiny CSV data set (reference backend, scalar build): a train
// section, overrides, an interrupt (exit 130) and --resume, the artifact, eval on the recomputed test split;
// usage errors. Neighbours: compiler/cli/train.ts, compiler/cli/eval.ts, test/train.test.ts.

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bufferIo } from "../compiler/cli/common.js";
import { main } from "../compiler/cli/main.js";
import { trainCommand, EXIT_INTERRUPTED } from "../compiler/cli/train.js";
import { confusionTable, evaluateClassifier } from "../compiler/cli/eval.js";
import { parseSafetensors } from "../compiler/weights/safetensors.js";

let dir = "";
const MODEL = `model mlp {
  input features: f32[4]
  output logits = features -> fc1: dense(12) -> relu -> fc2: dense(3)

  train {
    data = csv("d.csv", label="y")
    split = [40, 10, 10]
    loss = cross_entropy(logits, y)
    optimizer = adam(lr=0.05)
    batch_size = 8
    epochs = 5
    seed = 3
    metrics = [accuracy(logits, y)]
  }
}
`;

// Two heads on one hidden layer: the class and whether it is > 0 (a derived field), the second weighted 0.5.
const HEADS_MODEL = `model two {
  input features: f32[4]
  let h = features -> fc1: dense(12) -> relu
  output logits = h -> cls_head: dense(3)
  output big = h -> big_head: dense(2)

  train {
    data = csv("d.csv", label="y")
    split = [40, 10, 10]
    field pos = greater(y, 0)
    loss cls = cross_entropy(logits, y)
    loss big = cross_entropy(big, pos, weight=0.5)
    optimizer = adam(lr=0.05)
    batch_size = 8
    epochs = 2
    seed = 3
    metrics = [accuracy(logits, y), accuracy(big, pos)]
  }
}
`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "modelc-train-cli-"));
  let a = 9;
  const r = (): number => ((a = (Math.imul(a, 1103515245) + 12345) >>> 0) / 4294967296);
  const rows = ["a,b,c,d,y"];
  for (let i = 0; i < 60; i++) {
    const x = [0, 1, 2, 3].map(() => 2 * r() - 1) as [number, number, number, number];
    const s = [x[0] + x[1], x[2] - x[0], x[3] - x[1]];
    rows.push(`${x.map((v) => v.toFixed(4)).join(",")},${s.indexOf(Math.max(...s))}`);
  }
  writeFileSync(join(dir, "d.csv"), rows.join("\n") + "\n");
  writeFileSync(join(dir, "m.model"), MODEL);
  writeFileSync(join(dir, "heads.model"), HEADS_MODEL);
  writeFileSync(join(dir, "sgd.model"), MODEL.replace("adam(lr=0.05)", "sgd(lr=0.05)"));
  writeFileSync(join(dir, "plain.model"), "model p {\n  input x: f32[2]\n  output y = x -> dense(2)\n}\n");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("modelc train / eval", () => {
  it("interrupt -> exit 130 with a checkpoint; --resume finishes, writes the artifact; eval reproduces the test metrics", { timeout: 240_000 }, async () => {
    const out = join(dir, "out");
    const file = join(dir, "m.model");
    const ac = new AbortController();
    ac.abort(); // aborted from the start: the first step runs, then the driver checkpoints and stops
    const io1 = bufferIo();
    expect(await trainCommand(file, { out, backend: "reference", progress: "lines", epochs: 4, simd: false }, io1, { signal: ac.signal })).toBe(EXIT_INTERRUPTED);
    expect(io1.stdout.join("\n")).toMatch(/interrupted after 1 steps/);
    const meta = parseSafetensors(new Uint8Array(readFileSync(join(out, "checkpoint.safetensors")))).metadata;
    expect([meta["epoch"], meta["batch"], meta["step"], meta["seed"]]).toEqual(["0", "1", "1", "3"]);

    const io2 = bufferIo();
    const code = await main(["train", file, "-o", out, "--backend", "reference", "--progress", "lines", "--epochs", "4", "--no-simd", "--resume"], io2);
    expect(io2.stderr).toEqual([]);
    expect(code).toBe(0);
    const text = io2.stdout.join("\n");
    expect(text).toMatch(/resuming at epoch 1 step 2/);
    expect(text).toMatch(/^epoch 4\/4 {2}train loss \d\.\d{4} {2}val loss \d\.\d{4} {2}val accuracy \d+\.\d\d%/m);
    expect(text).toMatch(/trained mlp: 4 epochs, 20 steps/);
    const testLine = io2.stdout.find((l) => l.startsWith("test (10 samples): "))!;
    for (const f of ["mlp.nosimd.wasm", "mlp.manifest.json", "curves.svg", "curves.csv", "metrics.json"]) expect(existsSync(join(out, f)), f).toBe(true);
    const metrics = JSON.parse(readFileSync(join(out, "metrics.json"), "utf8"));
    expect(metrics.status).toBe("completed");

    const io3 = bufferIo();
    expect(await main(["eval", join(out, "mlp.nosimd.wasm"), "--data", join(dir, "d.csv"), "--label", "y", "--json"], io3)).toBe(0);
    const report = JSON.parse(io3.stdout[0]!);
    expect(report.split).toBe("test");
    expect(report.samples).toBe(10);
    // the artifact runs in f32 like the reference's stored weights: same accuracy, loss within f32 rounding
    expect(testLine).toContain(`accuracy ${(100 * report.accuracy).toFixed(2)}%`);
    expect(Number(/loss (\d\.\d{4})/.exec(testLine)![1])).toBeCloseTo(report.loss, 3);
    expect(report.confusion.flat().reduce((s: number, v: number) => s + v, 0)).toBe(10);

    const io4 = bufferIo();
    expect(await main(["eval", join(out, "mlp.nosimd.wasm"), "--data", join(dir, "d.csv"), "--label", "y", "--split", "all"], io4)).toBe(0);
    expect(io4.stdout[0]).toMatch(/\(all, 60 samples, output 'logits'\)/);
    expect(io4.stdout.some((l) => /^true \\ pred\s+0\s+1\s+2\s+total\s+recall$/.test(l))).toBe(true);
    const totals = io4.stdout.filter((l) => /^[012] /.test(l)).map((l) => Number(l.trim().split(/\s+/)[4]));
    expect(totals.reduce((a, b) => a + b, 0)).toBe(60);
  });

  it("a real SIGINT: the CLI process checkpoints and exits with 130", { timeout: 120_000 }, async () => {
    const out = join(dir, "sigint");
    const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "..", "compiler", "cli", "main.ts"), "train", join(dir, "m.model"), "-o", out, "--backend", "reference", "--progress", "lines", "--epochs", "100000", "--batch-size", "1", "--no-simd"], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let sent = false;
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (!sent && /^epoch 2\//m.test(stdout)) {
        sent = true;
        child.kill("SIGINT");
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    expect(code).toBe(EXIT_INTERRUPTED);
    expect(stdout).toMatch(/interrupted after \d+ steps; checkpoint .*checkpoint.safetensors/);
    expect(stdout).toMatch(/resume with: modelc train .* --resume/);
    const meta = parseSafetensors(new Uint8Array(readFileSync(join(out, "checkpoint.safetensors")))).metadata;
    expect(Number(meta["epoch"])).toBeGreaterThanOrEqual(1);
    // 40 steps per epoch; the run stops where the signal found it (usually mid-epoch), step counts agree
    const steps = Number(/interrupted after (\d+) steps/.exec(stdout)![1]);
    expect(Number(meta["step"])).toBe(steps);
    expect(Number(meta["epoch"]) * 40 + Number(meta["batch"])).toBe(steps);
    expect(existsSync(join(out, "mlp.nosimd.wasm"))).toBe(false);
  });

  it("a diverging run (NaN loss) stops with exit 1, names epoch, step and loss, keeps the last finite checkpoint, writes no artifact", { timeout: 120_000 }, async () => {
    const file = join(dir, "sgd.model");
    const out = join(dir, "diverge");
    const args = ["train", file, "-o", out, "--backend", "reference", "--progress", "lines", "--no-simd"];
    const io1 = bufferIo();
    expect(await main([...args, "--lr", "1e30"], io1)).toBe(1);
    const err1 = io1.stderr.join("\n");
    expect(err1).toMatch(/training diverged in epoch 1, step \d+ of 5 .*(loss 'loss' is (NaN|-?Infinity)|non-finite).*no checkpoint was written.*Lower the learning rate \(now 1e\+30; --lr\) or add clip_grad_norm/);
    expect(existsSync(join(out, "checkpoint.safetensors"))).toBe(false);
    expect(existsSync(join(out, "mlp.nosimd.wasm"))).toBe(false);
    expect(existsSync(join(out, "metrics.json"))).toBe(false);

    // a good epoch, then a resumed run that diverges: the checkpoint stays the good one, no artifact
    const out2 = join(dir, "diverge2");
    const args2 = ["train", file, "-o", out2, "--backend", "reference", "--progress", "lines", "--no-simd"];
    expect(await main([...args2, "--epochs", "1"], bufferIo())).toBe(0);
    const before = readFileSync(join(out2, "checkpoint.safetensors"));
    rmSync(join(out2, "mlp.nosimd.wasm"));
    const io2 = bufferIo();
    expect(await main([...args2, "--epochs", "3", "--lr", "1e30", "--resume"], io2)).toBe(1);
    expect(io2.stderr.join("\n")).toMatch(/training diverged in epoch 2, step \d+ of 5 .*checkpoint.safetensors keeps the last finite weights \(end of epoch 1, step 5\)/);
    expect(readFileSync(join(out2, "checkpoint.safetensors")).equals(before)).toBe(true);
    expect(existsSync(join(out2, "mlp.nosimd.wasm"))).toBe(false);
  });

  it("--resume keeps the run's --ablate / --heads (restored when omitted, refused when different); one weighted head keeps its named columns", { timeout: 240_000 }, async () => {
    const file = join(dir, "heads.model");
    const out = join(dir, "resume-sel");
    const base = ["train", file, "-o", out, "--backend", "reference", "--progress", "lines", "--no-simd"];
    const ac = new AbortController();
    ac.abort();
    expect(await trainCommand(file, { out, backend: "reference", progress: "lines", simd: false, ablate: ["features"], heads: ["big"] }, bufferIo(), { signal: ac.signal })).toBe(EXIT_INTERRUPTED);
    const config = JSON.parse(JSON.parse(parseSafetensors(new Uint8Array(readFileSync(join(out, "checkpoint.safetensors")))).metadata["config"]!));
    expect([config.ablate, config.heads, config.freeze, config.trainable]).toEqual([["features"], ["big"], null, null]);
    // the .model file is recorded (absolute) so `modelc eval` finds the targets and derived fields from anywhere
    expect(config.model_file).toBe(resolve(file));
    expect(config.derived.map((d: { name: string }) => d.name)).toEqual(["pos"]);

    // other heads / freeze: the selection is named, --init suggested, exit 1
    const io1 = bufferIo();
    expect(await main([...base, "--heads", "cls", "--freeze", "fc1", "--resume"], io1)).toBe(1);
    expect(io1.stderr.join("\n")).toMatch(/the checkpoint's run trained heads big with nothing frozen; this run asks for heads cls with freeze fc1\. .*use --init .*checkpoint\.safetensors \(not --resume\)/);
    expect(io1.stderr.join("\n")).not.toMatch(/unexpected tensor/);
    // no ablation asked while the run had one
    const io2 = bufferIo();
    expect(await main([...base, "--ablate", "", "--resume"], io2)).toBe(1);

    // flags omitted: taken from the checkpoint, said on one line
    const io3 = bufferIo();
    expect(await main([...base, "--resume"], io3)).toBe(0);
    const text = io3.stdout.join("\n");
    expect(text).toMatch(/^resuming with the checkpoint's --ablate features --heads big \(not given on the command line; /m);
    expect(text).toMatch(/^ablated \(zeros in training and evaluation\): features$/m);
    // one active head with weight 0.5: weighted total, the head's own (unweighted) loss by name, its weight
    const line = io3.stdout.find((l) => l.startsWith("epoch 2/2"))!;
    const m = /train weighted loss (\d\.\d{4}) {2}train big (\d\.\d{4}) .*val weighted loss (\d\.\d{4}) {2}val big (\d\.\d{4}) .*weights big 0\.5/.exec(line);
    expect(m, line).not.toBeNull();
    expect(Number(m![1])).toBeCloseTo(0.5 * Number(m![2]), 3);
    const metrics = JSON.parse(readFileSync(join(out, "metrics.json"), "utf8"));
    expect([metrics.config.ablate, metrics.config.heads]).toEqual([["features"], ["big"]]);
    expect(metrics.validation.losses.big).toBeCloseTo(Number(m![4]), 3);
    expect(metrics.loss_weights).toEqual({ big: 0.5 });
    const header = readFileSync(join(out, "curves.csv"), "utf8").split("\n")[0];
    expect(header).toBe("epoch,step,lr,train_loss,train_big,val_loss,val_big,val_accuracy(logits),val_accuracy(big),weight_big");
  });

  it("usage errors", async () => {
    const io = bufferIo();
    expect(await main(["train", join(dir, "plain.model"), "--backend", "reference"], io)).toBe(1);
    expect(io.stderr.join("\n")).toMatch(/model 'p' has no train \{ \.\.\. \} section/);
    const io2 = bufferIo();
    expect(await main(["train", join(dir, "m.model"), "--lr", "-1", "--backend", "reference"], io2)).toBe(1);
    expect(io2.stderr.join("\n")).toMatch(/--lr must be a number > 0/);
    const io3 = bufferIo();
    expect(await main(["train", join(dir, "m.model"), "-o", join(dir, "nothing"), "--resume", "--backend", "reference", "--progress", "none"], io3)).toBe(1);
    expect(io3.stderr.join("\n")).toMatch(/no checkpoint at '.*checkpoint.safetensors' to resume from/);
    const io4 = bufferIo();
    expect(await main(["train", join(dir, "m.model"), "--epochs", "0"], io4)).toBe(1);
    const io5 = bufferIo();
    writeFileSync(join(dir, "bad.json"), "{");
    expect(await main(["train", join(dir, "plain.model"), "--spec", join(dir, "bad.json")], io5)).toBe(1);
    expect(io5.stderr.join("\n")).toMatch(/not valid JSON/);
  });
});

describe("eval helpers", () => {
  it("accuracy, cross entropy and the confusion matrix", () => {
    const logits = Float32Array.of(2, 0, 0, /**/ 0, 1, 0, /**/ 0, 3, 0, /**/ 1, 1, 1);
    const r = evaluateClassifier((_b, _n) => logits, { x: { dtype: "f32", shape: [1], data: new Float32Array(4) } }, Int32Array.of(0, 1, 2, 0), 3, 4);
    expect(r.samples).toBe(4);
    expect(r.accuracy).toBe(0.75);
    expect(r.confusion).toEqual([[2, 0, 0], [0, 1, 0], [0, 1, 0]]);
    const ce = (row: number[], y: number): number => Math.log(row.reduce((s, v) => s + Math.exp(v), 0)) - row[y]!;
    expect(r.loss).toBeCloseTo((ce([2, 0, 0], 0) + ce([0, 1, 0], 1) + ce([0, 3, 0], 2) + ce([1, 1, 1], 0)) / 4, 12);
    expect(confusionTable(r.confusion)).toEqual([
      "true \\ pred  0  1  2  total  recall",
      "-----------  -  -  -  -----  ------",
      "0            2  0  0      2  100.0%",
      "1            0  1  0      1  100.0%",
      "2            0  1  0      1    0.0%",
    ]);
  });
});
