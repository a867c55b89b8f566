// safetensors read/write: the file format PyTorch/Hugging Face use for state_dicts (weights in).
// Neighbours: weights/bind.ts checks what this reads against a graph; cli/* and index.ts call it.
//
// Format (https://github.com/huggingface/safetensors, "Format" section):
//   u64 little-endian N | N bytes of UTF-8 JSON header | data bytes
//   header: { "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, ...,
//             "__metadata__"?: { "<key>": "<string value>" } }
//   offsets are relative to the start of the data bytes; tensors are row-major, little-endian.

/** Tensor element types of the safetensors format (the ones this reader understands). */
export type SafetensorsDType =
  | "F64" | "F32" | "F16" | "BF16"
  | "I64" | "I32" | "I16" | "I8"
  | "U64" | "U32" | "U16" | "U8"
  | "BOOL";

/** Element data as read: every float dtype (F64/F32/F16/BF16) becomes a Float32Array. */
export type SafetensorsData =
  | Float32Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array;

/**
 * One tensor. `dtype` is the dtype stored in the file (so "F16" data arrives as a Float32Array
 * with `dtype: "F16"`); `shape` is row-major, `[]` for a scalar (one element).
 */
export interface SafetensorsTensor {
  dtype: SafetensorsDType;
  shape: number[];
  data: SafetensorsData;
}

/** A tensor to write: `dtype` is optional and inferred from the typed array (see writeSafetensors). */
export interface SafetensorsInput {
  dtype?: SafetensorsDType;
  shape: number[];
  data: SafetensorsData;
}

/** Bytes per element of each dtype. */
export const SAFETENSORS_ITEMSIZE: Record<SafetensorsDType, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};

/** Largest header this reader accepts (the reference implementation's limit: 100 MB). */
const MAX_HEADER = 100_000_000;

/**
 * Parse a safetensors file. Returns the tensors in header order and the `__metadata__` strings
 * (`{}` when absent). Float tensors are converted to f32 (F64 rounds, F16/BF16 widen exactly).
 * Errors (plain Error, message starting "safetensors:"): file shorter than its header says,
 * header not JSON or not an object, unknown dtype, bad shape, offsets out of range, or offsets
 * whose length does not match shape x dtype size.
 */
export function parseSafetensors(bytes: Uint8Array): { tensors: Map<string, SafetensorsTensor>; metadata: Record<string, string> } {
  if (bytes.length < 8) throw new Error(`safetensors: file is truncated (${bytes.length} bytes, need at least 8 for the header length)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER)) throw new Error(`safetensors: header length ${n64} is too large (bad or non-safetensors file)`);
  const n = Number(n64);
  if (8 + n > bytes.length) throw new Error(`safetensors: file is truncated (header says ${n} header bytes, file has ${bytes.length - 8} after the length)`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new Error(`safetensors: header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw new Error("safetensors: header is not a JSON object");
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const tensors = new Map<string, SafetensorsTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      metadata = parseMetadata(raw);
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (typeof e !== "object" || e === null) throw new Error(`safetensors: entry '${name}' is not an object`);
    const dtype = e.dtype;
    if (typeof dtype !== "string" || !(dtype in SAFETENSORS_ITEMSIZE)) throw new Error(`safetensors: tensor '${name}' has unsupported dtype ${JSON.stringify(dtype)}`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new Error(`safetensors: tensor '${name}' has a bad shape ${JSON.stringify(shape)}`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isSafeInteger(o) && o >= 0) || off[0] > off[1])
      throw new Error(`safetensors: tensor '${name}' has bad data_offsets ${JSON.stringify(off)}`);
    const [begin, end] = off as [number, number];
    if (end > dataLen)
      throw new Error(`safetensors: tensor '${name}' data_offsets [${begin}, ${end}] are out of range (data is ${dataLen} bytes; file truncated?)`);
    const dt = dtype as SafetensorsDType;
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== count * SAFETENSORS_ITEMSIZE[dt])
      throw new Error(`safetensors: tensor '${name}' is ${end - begin} bytes, but ${dt} ${JSON.stringify(shape)} needs ${count * SAFETENSORS_ITEMSIZE[dt]}`);
    const data = decode(dt, bytes.subarray(dataStart + begin, dataStart + end), count);
    tensors.set(name, { dtype: dt, shape: [...(shape as number[])], data });
  }
  return { tensors, metadata };
}

/**
 * Read a safetensors file into a map name -> tensor (header order). Same conversions and errors
 * as parseSafetensors; use that to also get `__metadata__`.
 */
export function readSafetensors(bytes: Uint8Array): Map<string, SafetensorsTensor> {
  return parseSafetensors(bytes).tensors;
}

function parseMetadata(raw: unknown): Record<string, string> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Error("safetensors: __metadata__ is not an object");
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== "string") throw new Error(`safetensors: __metadata__ value of '${k}' is not a string`);
    out[k] = v;
  }
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Copy `src` into a fresh, aligned buffer (typed arrays need alignment; the file gives none). */
function aligned(src: Uint8Array): ArrayBuffer {
  const buf = new ArrayBuffer(src.length);
  new Uint8Array(buf).set(src);
  if (!LITTLE_ENDIAN) throw new Error("safetensors: big-endian hosts are not supported");
  return buf;
}

function decode(dtype: SafetensorsDType, src: Uint8Array, count: number): SafetensorsData {
  switch (dtype) {
    case "F32": return new Float32Array(aligned(src));
    case "F64": return Float32Array.from(new Float64Array(aligned(src)));
    case "F16": {
      const h = new Uint16Array(aligned(src));
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(h[i]!);
      return out;
    }
    case "BF16": {
      const h = new Uint16Array(aligned(src));
      const bits = new Uint32Array(count);
      for (let i = 0; i < count; i++) bits[i] = h[i]! << 16;
      return new Float32Array(bits.buffer);
    }
    case "I64": return new BigInt64Array(aligned(src));
    case "U64": return new BigUint64Array(aligned(src));
    case "I32": return new Int32Array(aligned(src));
    case "U32": return new Uint32Array(aligned(src));
    case "I16": return new Int16Array(aligned(src));
    case "U16": return new Uint16Array(aligned(src));
    case "I8": return new Int8Array(aligned(src));
    case "U8":
    case "BOOL": return new Uint8Array(aligned(src));
  }
}

/** IEEE 754 binary16 bits -> number (exact; subnormals, inf and NaN included). */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

function inferDType(data: SafetensorsData): SafetensorsDType {
  if (data instanceof Float32Array) return "F32";
  if (data instanceof BigInt64Array) return "I64";
  if (data instanceof BigUint64Array) return "U64";
  if (data instanceof Int32Array) return "I32";
  if (data instanceof Uint32Array) return "U32";
  if (data instanceof Int16Array) return "I16";
  if (data instanceof Uint16Array) return "U16";
  if (data instanceof Int8Array) return "I8";
  return "U8";
}

/**
 * Serialize tensors to safetensors bytes. The dtype of each tensor is inferred from its typed
 * array (Float32Array -> F32, BigInt64Array -> I64, Uint8Array -> U8, ...); an explicit `dtype`
 * may only restate that, except `"BOOL"` for a Uint8Array. Float tensors are always written as F32.
 * Tensors are laid out in name order; the header is padded with spaces to a multiple of 8 bytes,
 * as the reference implementation does. `metadata` goes to `__metadata__` (string values only).
 * Errors: a name "__metadata__", data length != product of shape, or a dtype that disagrees.
 */
export function writeSafetensors(
  tensors: ReadonlyMap<string, SafetensorsInput> | Iterable<[string, SafetensorsInput]>,
  metadata?: Record<string, string>,
): Uint8Array {
  const entries = [...tensors].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = { ...metadata };
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const [name, t] of entries) {
    if (name === "__metadata__") throw new Error("safetensors: '__metadata__' cannot be a tensor name");
    const inferred = inferDType(t.data);
    const dtype = t.dtype === "BOOL" && inferred === "U8" ? "BOOL" : inferred;
    if (t.dtype !== undefined && t.dtype !== dtype)
      throw new Error(`safetensors: tensor '${name}' says dtype ${t.dtype} but its data is a ${t.data.constructor.name} (${inferred})`);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== count)
      throw new Error(`safetensors: tensor '${name}' has ${t.data.length} elements, shape ${JSON.stringify(t.shape)} needs ${count}`);
    const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + raw.length] };
    parts.push(raw);
    offset += raw.length;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
