// Checkpoint tests: encode/decode round trip (optimizer state under optim., non-finite numbers, metadata),
// refusal of foreign files, and SIGKILL safety: a child killed at random moments always leaves a loadable
// checkpoint, and resuming finishes with the same weights and curves as an uninterrupted run.

import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { decodeCheckpoint, encodeCheckpoint, parseJson, stringifyJson, CheckpointError, type TrainState } from "../compiler/train/checkpoint.js";
import { parseSafetensors, writeSafetensors } from "../compiler/weights/safetensors.js";
import { removeStaleTemps, train } from "../compiler/train/driver.js";
import { mlpSpec, setup, synthetic } from "./train.helpers.js";

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "modelc-ckpt-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const state = (over: Partial<TrainState> = {}): TrainState => ({
  epoch: 2, batch: 1, step: 11, seed: 7, lr: 0.05, bestValLoss: Infinity, badEpochs: 1, stopped: false,
  partial: { sums: { loss: 1.25 }, samples: 5 },
  history: { steps: [{ step: 1, x: 0.2, loss: NaN, lr: 0.1 }], epochs: [] },
  config: "{\"seed\":7}",
  ...over,
});

describe("checkpoint encoding", () => {
  const expected = [
    { name: "fc.weight", role: "param" as const, shape: [2, 2] },
    { name: "bn.running_mean", role: "state" as const, shape: [2] },
    { name: "fc.weight.exp_avg", role: "optim" as const, shape: [2, 2] },
  ];
  const tensors = new Map([
    ["fc.weight", { role: "param" as const, shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) }],
    ["bn.running_mean", { role: "state" as const, shape: [2], data: Float32Array.of(0.5, -0.5) }],
    ["fc.weight.exp_avg", { role: "optim" as const, shape: [2, 2], data: Float32Array.of(0.1, 0.2, 0.3, 0.4) }],
  ]);

  it("round-trips tensors and state; optimizer state is stored as optim.<name>; metadata is JSON strings", () => {
    const bytes = encodeCheckpoint(tensors, state());
    const raw = parseSafetensors(bytes);
    expect([...raw.tensors.keys()].sort()).toEqual(["bn.running_mean", "fc.weight", "optim.fc.weight.exp_avg"]);
    expect(raw.metadata["format"]).toBe("modelc-checkpoint/1");
    expect(raw.metadata["epoch"]).toBe("2");
    expect(raw.metadata["step"]).toBe("11");
    expect(raw.metadata["lr"]).toBe("0.05");
    expect(JSON.parse(raw.metadata["curves"]!).steps[0].loss).toBe("__num:NaN");
    const back = decodeCheckpoint(bytes, expected);
    expect(back.state).toEqual(state());
    expect(back.tensors.get("fc.weight.exp_avg")).toEqual({ role: "optim", shape: [2, 2], data: Float32Array.of(0.1, 0.2, 0.3, 0.4) });
    expect([...back.tensors.get("bn.running_mean")!.data]).toEqual([0.5, -0.5]);
  });

  it("non-finite numbers and finite doubles round-trip exactly through the metadata JSON", () => {
    const v = [NaN, Infinity, -Infinity, 0.1 + 0.2, 1e-310, -0, 5e-324];
    expect(parseJson<number[]>(stringifyJson(v)).map(String)).toEqual(v.map((x) => (Object.is(x, -0) ? "0" : String(x))));
  });

  it("refuses foreign files and checkpoints of another model", () => {
    const bytes = encodeCheckpoint(tensors, state());
    expect(() => decodeCheckpoint(new Uint8Array(3), expected)).toThrow(CheckpointError);
    expect(() => decodeCheckpoint(writeSafetensors(new Map([["a", { shape: [1], data: Float32Array.of(1) }]])), expected)).toThrow(/not a modelc checkpoint/);
    expect(() => decodeCheckpoint(bytes, expected.slice(0, 2))).toThrow(/unexpected tensor 'optim.fc.weight.exp_avg'/);
    expect(() => decodeCheckpoint(bytes, [...expected, { name: "fc.bias", role: "param", shape: [2] }])).toThrow(/missing param 'fc.bias'/);
    expect(() => decodeCheckpoint(bytes, [{ ...expected[0]!, shape: [4] }, ...expected.slice(1)])).toThrow(/'fc.weight' is F32 \[2, 2\], expected F32 \[4\]/);
  });
});

describe("removeStaleTemps", () => {
  it("removes temp files of dead writers only", async () => {
    const d = tmp();
    const names = [".checkpoint.safetensors.999999999.a1b2c3.tmp", ".curves.svg.999999998.ff00ff.tmp", `.checkpoint.safetensors.${process.pid}.abcdef.tmp`, ".other.999999999.a1.tmp", "checkpoint.safetensors"];
    for (const n of names) writeFileSync(join(d, n), "x");
    expect(await removeStaleTemps(d)).toBe(2);
    expect(readdirSync(d).sort()).toEqual(names.slice(2).sort());
  });
});

/** Run the child until it exits or is killed `killAfterMs` after it printed "ready". */
function runChild(graphFile: string, dir: string, epochs: number, killAfterMs?: number): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "train.child.ts"), graphFile, dir, String(epochs)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (killAfterMs !== undefined && out.includes("ready") && !child.killed) setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    });
    child.stderr.on("data", (d: Buffer) => void (err += d.toString()));
    child.on("error", reject);
    child.on("exit", (code, signal) => (code !== 0 && signal === null ? reject(new Error(`child failed (${code}): ${err}`)) : resolve({ code, signal, out })));
  });
}

describe("SIGKILL safety", () => {
  it("killed at random moments: the checkpoint always loads, resume finishes identical to an uninterrupted run", { timeout: 120_000 }, async () => {
    const epochs = 30;
    const spec = mlpSpec({ epochs });
    const ref = tmp();
    const { tg, backend, graph } = setup(spec);
    const graphFile = join(ref, "graph.json");
    writeFileSync(graphFile, JSON.stringify(graph));
    const started = performance.now();
    const full = await train({ graph: tg, spec, backend, data: synthetic(), outDir: ref });
    const fullMs = performance.now() - started;
    expect(full.status).toBe("completed");

    const dir = tmp();
    let a = 12345;
    const rand = (): number => ((a = (Math.imul(a, 1103515245) + 12345) >>> 0) / 4294967296);
    let kills = 0;
    const seenEpochs: number[] = [];
    let scale = 0.2;
    for (let attempt = 0; attempt < 12 && kills < 4; attempt++) {
      // Kill within a fifth of an uninterrupted run's time, so four kills rarely add up to the whole run. On a
      // shared machine the child can still outrun that (this process's run was slowed by load): then it
      // finished before the kill, which proves nothing here, so start over in a fresh directory with
      // shorter delays instead of counting it.
      const r = await runChild(graphFile, dir, epochs, 1 + Math.floor(rand() * fullMs * scale));
      if (r.signal !== "SIGKILL") {
        expect(r.out).toContain(`done completed ${epochs}`);
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir);
        scale /= 2;
        continue;
      }
      kills++;
      const path = join(dir, "checkpoint.safetensors");
      if (!existsSync(path)) continue;
      const ck = decodeCheckpoint(new Uint8Array(readFileSync(path)), tg.tensors);
      expect(ck.state.history.epochs).toHaveLength(ck.state.epoch);
      expect(ck.state.history.steps).toHaveLength(ck.state.step);
      seenEpochs.push(ck.state.epoch);
    }
    expect(kills).toBeGreaterThanOrEqual(3);
    expect(seenEpochs.length).toBeGreaterThanOrEqual(1);
    const last = await runChild(graphFile, dir, epochs);
    expect(last.out).toContain(`done completed ${epochs}`);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]); // stale temps of killed writers are removed
    const got = decodeCheckpoint(new Uint8Array(readFileSync(join(dir, "checkpoint.safetensors"))), tg.tensors);
    const want = decodeCheckpoint(new Uint8Array(readFileSync(join(ref, "checkpoint.safetensors"))), tg.tensors);
    expect(got.state.history).toEqual(full.history);
    expect(got.state).toEqual(want.state);
    for (const [name, t] of want.tensors) expect([...got.tensors.get(name)!.data], name).toEqual([...t.data]);
  });
});
