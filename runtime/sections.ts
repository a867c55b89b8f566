// Reading a modelc artifact's metadata out of wasm bytes: custom sections, the manifest's structural
// check, and SIMD / relaxed-SIMD feature detection. Neighbours: runtime/manifest.ts (the contract), runtime/load.ts (caller).

import { ModelcRuntimeError } from "./errors.js";
import { MANIFEST_SECTION, VARIANT_SECTION, type IoSpec, type Manifest } from "./manifest.js";

/**
 * An unsigned LEB128 number at `bytes[p]`: [value, the index after it].
 * Errors: `not-artifact` when the number runs past the end.
 */
export function readLeb(bytes: Uint8Array, p: number): [value: number, next: number] {
  let result = 0;
  for (let shift = 0; ; shift += 7) {
    if (p >= bytes.length) throw new ModelcRuntimeError("not-artifact", "not a modelc artifact: truncated WebAssembly module");
    const b = bytes[p++]!;
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [result, p];
  }
}

/** One section of a wasm binary: its id, where it starts (the id byte), where its payload starts, and its end. */
export interface WasmSection {
  id: number;
  start: number;
  body: number;
  end: number;
}

/**
 * The sections of a wasm binary, in file order, without compiling it (so SIMD bytes can be inspected on a host
 * that cannot compile them). Also compiler/backend/wasm/relaxed-bytes.ts's way to its code section.
 * Errors: `not-artifact` when the bytes are not a wasm binary or a section runs past the end.
 */
export function wasmSections(bytes: Uint8Array): WasmSection[] {
  const head = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  if (bytes.length < 8 || head.some((b, i) => bytes[i] !== b))
    throw new ModelcRuntimeError("not-artifact", "not a modelc artifact: the bytes are not a WebAssembly module (bad magic/version)");
  const out: WasmSection[] = [];
  let p = 8;
  while (p < bytes.length) {
    const start = p;
    const id = bytes[p++]!;
    const [size, body] = readLeb(bytes, p);
    const end = body + size;
    if (end > bytes.length) throw new ModelcRuntimeError("not-artifact", "not a modelc artifact: truncated WebAssembly module");
    out.push({ id, start, body, end });
    p = end;
  }
  return out;
}

/**
 * The custom sections of a wasm binary, in file order, without compiling it. Payloads are views into `bytes`.
 * Errors: `not-artifact` when the bytes are not a wasm binary or a section runs past the end.
 */
export function customSections(bytes: Uint8Array): { name: string; payload: Uint8Array }[] {
  return wasmSections(bytes)
    .filter((s) => s.id === 0)
    .map((s) => {
      const [len, p] = readLeb(bytes, s.body);
      return { name: new TextDecoder().decode(bytes.subarray(p, p + len)), payload: bytes.subarray(p + len, s.end) };
    });
}

/** Which build a module is (its `modelc.variant` section): relaxed-SIMD FMA, plain SIMD or scalar. */
export type ModuleVariant = "relaxed" | "simd" | "scalar";

/**
 * The manifest and variant carried by a modelc module's custom sections.
 * Errors: `not-artifact` (no `modelc.manifest` section), `bad-manifest` (bad JSON or structure).
 */
export function readArtifactSections(bytes: Uint8Array): { manifest: Manifest; variant?: ModuleVariant } {
  const sections = customSections(bytes);
  const m = sections.find((s) => s.name === MANIFEST_SECTION);
  if (!m) throw new ModelcRuntimeError("not-artifact", `not a modelc artifact: no ${MANIFEST_SECTION} section`);
  const manifest = parseManifest(new TextDecoder().decode(m.payload), `the ${MANIFEST_SECTION} section`);
  const v = sections.find((s) => s.name === VARIANT_SECTION);
  const text = v ? new TextDecoder().decode(v.payload) : undefined;
  return text === "relaxed" || text === "simd" || text === "scalar" ? { manifest, variant: text } : { manifest };
}

/**
 * Parse manifest JSON and check its structure (the runtime's minimal stand-in for the JSON schema).
 * `where` names the origin in error messages. Errors: `bad-manifest`, naming the field, expected and got.
 */
export function parseManifest(text: string, where: string): Manifest {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new ModelcRuntimeError("bad-manifest", `bad manifest in ${where}: invalid JSON (${(e as Error).message})`);
  }
  checkManifest(m, where);
  return m;
}

function checkManifest(m: unknown, where: string): asserts m is Manifest {
  const fail = (path: string, expected: string, got: unknown): never => {
    throw new ModelcRuntimeError("bad-manifest", `bad manifest in ${where}: ${path} must be ${expected}, got ${JSON.stringify(got)}`);
  };
  const obj = (v: unknown, path: string): Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(path, "an object", v);
  const count = (v: unknown, path: string): number =>
    typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : fail(path, "a non-negative integer", v);
  const str = (v: unknown, path: string): string => (typeof v === "string" ? v : fail(path, "a string", v));
  const root = obj(m, "manifest");
  if (root.format !== "modelc-artifact") fail("format", '"modelc-artifact"', root.format);
  if (root.formatVersion !== 1) fail("formatVersion", "1 (this runtime's format)", root.formatVersion);
  str(root.name, "name");
  for (const key of ["inputs", "outputs"] as const) {
    const list = root[key];
    if (!Array.isArray(list)) fail(key, "an array", list);
    (list as unknown[]).forEach((io, i) => {
      const s = obj(io, `${key}[${i}]`) as Partial<Record<keyof IoSpec, unknown>>;
      str(s.name, `${key}[${i}].name`);
      if (s.dtype !== "f32" && s.dtype !== "i32") fail(`${key}[${i}].dtype`, '"f32" or "i32"', s.dtype);
      if (!Array.isArray(s.shape)) fail(`${key}[${i}].shape`, "an array", s.shape);
      count(s.elementsPerSample, `${key}[${i}].elementsPerSample`);
      if (count(s.offsetPerSample, `${key}[${i}].offsetPerSample`) % 4 !== 0) fail(`${key}[${i}].offsetPerSample`, "a multiple of 4", s.offsetPerSample);
      const r = s.range as number[] | undefined;
      if (r !== undefined && !(Array.isArray(r) && r.length === 2 && Number.isInteger(r[0]) && Number.isInteger(r[1]) && 0 <= r[0]! && r[0]! < r[1]!))
        fail(`${key}[${i}].range`, "[lo, hi] with integers 0 <= lo < hi (ids in [lo, hi), hi exclusive)", r);
    });
  }
  const mem = obj(root.memory, "memory");
  if (count(mem.activationBase, "memory.activationBase") % 4 !== 0) fail("memory.activationBase", "a multiple of 4", mem.activationBase);
  count(mem.bytesPerSample, "memory.bytesPerSample");
  count(mem.initialPages, "memory.initialPages");
  const w = obj(root.weights, "weights");
  if (typeof w.embedded !== "boolean") fail("weights.embedded", "a boolean", w.embedded);
  if (!w.embedded) str(w.file, "weights.file");
  count(w.offset, "weights.offset");
  count(w.bytes, "weights.bytes");
  str(w.sha256, "weights.sha256");
  const mods = obj(root.modules, "modules");
  if (mods.simd === undefined && mods.scalar === undefined) fail("modules", "an object naming a simd and/or scalar module", mods);
  for (const k of ["simd", "relaxed", "scalar"]) if (mods[k] !== undefined) str(mods[k], `modules.${k}`);
}

/** Whether the host validates a function (v128, v128, v128) -> v128 of body `ops`: 36-37 hand-written bytes. */
function probe(ops: number[]): boolean {
  const n = ops.length;
  try {
    return WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 123, 123, 123, 1, 123, 3, 2, 1, 0,
      10, n + 10, 1, n + 8, 0, 32, 0, 32, 1, 32, 2, ...ops, 11]));
  } catch {
    return false;
  }
}

/** True when this host's WebAssembly supports fixed-width SIMD (v128). */
export const hostHasSimd = (): boolean => probe([26, 26]);

let relaxed: boolean | undefined;

/** True (cached) when this host's WebAssembly has relaxed SIMD: a probe of f32x4.relaxed_madd validates. */
export const hostHasRelaxedSimd = (): boolean => (relaxed ??= probe([253, 133, 2]));
