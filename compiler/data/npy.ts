// NumPy .npy read/write: the input/output tensor files of `modelc run` and the golden vectors.
// Neighbours: cli/run.ts reads inputs and writes outputs with it; io/atomic.ts writes the bytes.
//
// Format (numpy.lib.format, "NPY format" doc): "\x93NUMPY" | major u8 | minor u8 |
//   header length (u16 LE for v1.0, u32 LE for v2.0/3.0) | header: a Python dict literal
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with spaces + '\n' so the
//   data starts at a multiple of 64 bytes | raw data, row-major (C order).

/** Element types supported (NumPy `dtype.str` without the byte-order mark). */
export type NpyDType = "f4" | "f8" | "i4" | "i8" | "u1" | "i1" | "b1";

/** Data array per dtype: f4 Float32Array, f8 Float64Array, i4 Int32Array, i8 BigInt64Array, u1/b1 Uint8Array, i1 Int8Array. */
export type NpyData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array;

/** A tensor read from or written to .npy; `shape` `[]` is a 0-d array (one element). */
export interface NpyArray {
  dtype: NpyDType;
  shape: number[];
  data: NpyData;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const ITEMSIZE: Record<NpyDType, number> = { f4: 4, f8: 8, i4: 4, i8: 8, u1: 1, i1: 1, b1: 1 };

/**
 * Parse .npy bytes (versions 1.0, 2.0, 3.0). Supported: little-endian (or byte-order-free) f4, f8,
 * i4, i8, u1, i1, b1 in C order. Errors (Error, message starting "npy:"): bad magic, truncated
 * header or data, unparseable header, big-endian or other dtypes, `fortran_order: True` (save
 * with `np.ascontiguousarray(a)` first), object arrays.
 */
export function readNpy(bytes: Uint8Array): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new Error("npy: not a .npy file (bad magic)");
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new Error("npy: file is truncated in the header");
    headerLen = view.getUint32(8, true);
    start = 12;
  } else throw new Error(`npy: unsupported format version ${major}.${bytes[7]}`);
  if (start + headerLen > bytes.length) throw new Error("npy: file is truncated in the header");
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    throw new Error(`npy: cannot parse header ${JSON.stringify(header.trim())}`);
  if (fortran === "True") throw new Error("npy: fortran_order arrays are not supported; save a C-order array (np.ascontiguousarray)");
  const order = descr[0];
  const code = descr.slice(1) as NpyDType;
  if (!(order === "<" || order === "|" || order === "=") || !(code in ITEMSIZE))
    throw new Error(`npy: unsupported dtype '${descr}' (supported: little-endian f4 f8 i4 i8 u1 i1 b1)`);
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => {
      const d = Number(s.replace(/L$/, ""));
      if (!Number.isSafeInteger(d) || d < 0) throw new Error(`npy: bad shape (${shapeText})`);
      return d;
    });
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLen;
  const need = count * ITEMSIZE[code];
  if (bytes.length - dataStart < need) throw new Error(`npy: file is truncated (data needs ${need} bytes, has ${bytes.length - dataStart})`);
  const buf = new ArrayBuffer(need);
  new Uint8Array(buf).set(bytes.subarray(dataStart, dataStart + need));
  return { dtype: code, shape, data: makeArray(code, buf) };
}

function makeArray(code: NpyDType, buf: ArrayBuffer): NpyData {
  switch (code) {
    case "f4": return new Float32Array(buf);
    case "f8": return new Float64Array(buf);
    case "i4": return new Int32Array(buf);
    case "i8": return new BigInt64Array(buf);
    case "i1": return new Int8Array(buf);
    case "u1":
    case "b1": return new Uint8Array(buf);
  }
}

function inferDType(data: NpyData): NpyDType {
  if (data instanceof Float32Array) return "f4";
  if (data instanceof Float64Array) return "f8";
  if (data instanceof Int32Array) return "i4";
  if (data instanceof BigInt64Array) return "i8";
  if (data instanceof Int8Array) return "i1";
  return "u1";
}

/**
 * Serialize to .npy bytes: version 1.0 (2.0 only if the header exceeds 65535 bytes), C order,
 * little-endian, data aligned to 64 bytes like NumPy >= 1.x. `dtype` defaults to the one implied
 * by the typed array; pass "b1" to mark a Uint8Array as bool. A 1-element shape prints `(n,)`.
 * Errors: data length != product of shape; dtype disagreeing with the array type.
 */
export function writeNpy(arr: { dtype?: NpyDType; shape: number[]; data: NpyData }): Uint8Array {
  const inferred = inferDType(arr.data);
  const dtype = arr.dtype === "b1" && inferred === "u1" ? "b1" : inferred;
  if (arr.dtype !== undefined && arr.dtype !== dtype)
    throw new Error(`npy: dtype ${arr.dtype} disagrees with the data array (${arr.data.constructor.name})`);
  const count = arr.shape.reduce((a, b) => a * b, 1);
  if (arr.data.length !== count) throw new Error(`npy: ${arr.data.length} elements do not fill shape (${arr.shape.join(", ")})`);
  const order = ITEMSIZE[dtype] === 1 ? "|" : "<";
  const shapeText = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(", ")})`;
  let dict = `{'descr': '${order}${dtype}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  let version = 1;
  let prefix = 10;
  if (dict.length + 1 + prefix > 65535 + 10) {
    version = 2;
    prefix = 12;
  }
  const total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  dict = dict + " ".repeat(total - prefix - dict.length - 1) + "\n";
  const out = new Uint8Array(total + arr.data.byteLength);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, dict.length, true);
  else view.setUint32(8, dict.length, true);
  for (let i = 0; i < dict.length; i++) out[prefix + i] = dict.charCodeAt(i);
  out.set(new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength), total);
  return out;
}
