// Child process of test/runtime-relaxed.test.ts, run as
// `node --experimental-wasm-relaxed-simd --import tsx test/runtime-relaxed.child.ts DIR` (Node 20 validates relaxed
// SIMD only with the flag). Loads the artifacts the parent wrote under DIR with each option, and prints one JSON
// line: the probe's answer, the variant each load picked, error codes/messages, and the golden outputs of the
// relaxed and the plain SIMD build. The parent asserts everything. Neighbours: runtime/load.ts, runtime/sections.ts.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { hostHasRelaxedSimd, loadModel, ModelcRuntimeError } from "../runtime/index.js";
import { affineModule, expectedY, sampleInputs } from "./runtime-fixture.js";
import { loadGoldenFamilies, runInputsF32 } from "./golden-util.js";

const dir = process.argv[2]!;
const out: Record<string, unknown> = {};
out.probe = hostHasRelaxedSimd();
out.validatesRelaxedModule = WebAssembly.validate(affineModule("relaxed", true).wasm as Uint8Array<ArrayBuffer>);

/** The variant a load picks and whether its y output is right, or the error's code and message. */
async function attempt(source: string | Uint8Array, options: Parameters<typeof loadModel>[1] = {}): Promise<unknown> {
  try {
    const m = await loadModel(source, options);
    const { x, k } = sampleInputs(3);
    const y = m.run({ x, k }).y!;
    return { variant: m.variant, simd: m.simd, yOk: Array.from(y).join() === Array.from(expectedY(x)).join() };
  } catch (e) {
    if (!(e instanceof ModelcRuntimeError)) throw e;
    return { code: e.code, message: e.message };
  }
}

const all = join(dir, "affine-all");
const bytes = (f: string): Uint8Array => new Uint8Array(readFileSync(join(all, f)));
out.affine = {
  auto: await attempt(join(all, "affine.wasm")),
  manifest: await attempt(join(all, "affine.manifest.json")),
  fromScalarPath: await attempt(join(all, "affine.nosimd.wasm")),
  relaxedOff: await attempt(join(all, "affine.relaxed.wasm"), { relaxed: "off" }),
  simdOff: await attempt(join(all, "affine.wasm"), { simd: "off" }),
  force: await attempt(join(all, "affine.wasm"), { relaxed: "force" }),
  simdForce: await attempt(join(all, "affine.manifest.json"), { simd: "force" }),
  relaxedBytes: await attempt(bytes("affine.relaxed.wasm")),
  simdBytes: await attempt(bytes("affine.wasm")),
  simdBytesForce: await attempt(bytes("affine.wasm"), { relaxed: "force" }),
  relaxedBytesOff: await attempt(bytes("affine.relaxed.wasm"), { relaxed: "off" }),
  relaxedBytesSimdOff: await attempt(bytes("affine.relaxed.wasm"), { simd: "off" }),
  noRelaxedBuildAuto: await attempt(join(dir, "affine-plain", "affine.wasm")),
  noRelaxedBuildForce: await attempt(join(dir, "affine-plain", "affine.wasm"), { relaxed: "force" }),
  lone: await attempt(join(dir, "affine-lone", "affine.wasm")),
  loneForce: await attempt(join(dir, "affine-lone", "affine.wasm"), { relaxed: "force" }),
};

// golden cases the parent compiled into DIR/golden/<case>: outputs of the relaxed and the plain SIMD build
const cases = JSON.parse(readFileSync(join(dir, "golden", "cases.json"), "utf8")) as string[];
const golden: { case: string; batch: number; output: string; variants: string[]; relaxed: number[]; plain: number[] }[] = [];
for (const fam of loadGoldenFamilies())
  for (const c of fam.cases) {
    if (!cases.includes(c.name)) continue;
    const wasm = join(dir, "golden", c.name, "model.wasm");
    const relaxed = await loadModel(wasm);
    const plain = await loadModel(wasm, { relaxed: "off" });
    for (const r of c.runs) {
      const inputs = runInputsF32(r);
      const a = relaxed.run(inputs, { batch: r.batch });
      const b = plain.run(inputs, { batch: r.batch });
      for (const o of Object.keys(r.outputs))
        golden.push({ case: c.name, batch: r.batch, output: o, variants: [relaxed.variant, plain.variant], relaxed: Array.from(a[o]!), plain: Array.from(b[o]!) });
    }
  }
out.golden = golden;
process.stdout.write(JSON.stringify(out) + "\n");
