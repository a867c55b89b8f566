// Appending custom sections to a finished wasm binary (the manifest and variant travel inside the module).
// Neighbours: artifact/build.ts (caller); runtime/sections.ts reads them back.

/** Unsigned LEB128 encoding of a non-negative integer (< 2^53). */
export function uleb128(n: number): number[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`uleb128: expected a non-negative integer, got ${n}`);
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/**
 * A copy of `wasm` with a custom section appended: id 0, LEB128 section size, LEB128 name length,
 * UTF-8 name, payload. Custom sections may appear anywhere, so appending keeps the module valid.
 */
export function appendCustomSection(wasm: Uint8Array, name: string, payload: Uint8Array | string): Uint8Array {
  return appendCustomSections(wasm, [[name, payload]]);
}

/**
 * A copy of `wasm` with several custom sections appended in order, copying the module once (the same
 * bytes as appendCustomSection applied once per section; a module is ~1 MB with embedded weights).
 */
export function appendCustomSections(wasm: Uint8Array, sections: [name: string, payload: Uint8Array | string][]): Uint8Array {
  const enc = new TextEncoder();
  const parts: ArrayLike<number>[] = [];
  for (const [name, payload] of sections) {
    const nameBytes = enc.encode(name);
    const data = typeof payload === "string" ? enc.encode(payload) : payload;
    const nameLen = uleb128(nameBytes.length);
    parts.push([0], uleb128(nameLen.length + nameBytes.length + data.length), nameLen, nameBytes, data);
  }
  const out = new Uint8Array(parts.reduce((n, b) => n + b.length, wasm.length));
  out.set(wasm, 0);
  let p = wasm.length;
  for (const b of parts) {
    out.set(b, p);
    p += b.length;
  }
  return out;
}
