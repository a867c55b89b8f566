// The relaxed-SIMD module written from the SIMD module's bytes (no second binaryen emitBinary): each madd's
// `f32x4.mul; local.get c; f32x4.add` becomes `local.get c; f32x4.relaxed_madd`. No binaryen here; module.ts
// (ModuleBuilder.finishWithRelaxed) calls it and falls back to emitting the rewritten IR when it returns undefined.

import { uleb128 } from "../../artifact/sections.js";
import { readLeb, wasmSections } from "../../../runtime/sections.js";

/** `0xfd f32x4.mul` and `0xfd f32x4.add` (sub-opcodes 0xe6, 0xe4 as LEB), `local.get`, `0xfd f32x4.relaxed_madd` (0x105). */
const MUL = [0xfd, 0xe6, 0x01];
const ADD = [0xfd, 0xe4, 0x01];
const LOCAL_GET = 0x20;
const RELAXED_MADD = Uint8Array.from([0xfd, 0x85, 0x02]);

/**
 * `simd` (a module as binaryen writes it, before the data section is appended) with every madd rewritten:
 * `0xfd mul, 0x20 c, 0xfd add` -> `0x20 c, 0xfd relaxed_madd` (stack [a, b] -> [a*b + c] either way; local.get c
 * does not touch the stack). `madds[i]` is how many madds function i holds, each written as exactly that run (its
 * mul and add f32x4, its c a local.get). The runs are found by a byte search, without decoding instructions: every
 * position where the bytes match (overlapping ones included) is counted, and since every madd is such a position, a
 * count equal to `madds[i]` means every position found is a madd (none is a match inside some immediate); any other
 * count returns undefined. Functions without madds are copied. Body and code section sizes get their minimal LEBs
 * again, as binaryen writes them, so the result is the bytes binaryen writes for the rewritten IR
 * (test/emit-prep.test.ts compares on every example).
 */
export function relaxedFromSimdBytes(simd: Uint8Array, madds: readonly number[]): Uint8Array | undefined {
  const code = wasmSections(simd).find((s) => s.id === 10);
  if (!code) return undefined;
  const [count, first] = readLeb(simd, code.body);
  if (count !== madds.length) return undefined;
  let p = first;
  const parts: Uint8Array[] = [];
  let bytes = uleb128(madds.length).length;
  for (const expected of madds) {
    const [len, at] = readLeb(simd, p);
    p = at;
    if (p + len > code.end) return undefined;
    const body = expected === 0 ? simd.subarray(p, p + len) : rewriteBody(simd, p, p + len, expected);
    if (!body) return undefined;
    const head = Uint8Array.from(uleb128(body.length));
    parts.push(head, body);
    bytes += head.length + body.length;
    p += len;
  }
  if (p !== code.end) return undefined;
  return concat([simd.subarray(0, code.start), Uint8Array.from([10, ...uleb128(bytes), ...uleb128(madds.length)]), ...parts, simd.subarray(p)]);
}

/** Body [start, end) with its `expected` madd runs rewritten, or undefined when the bytes match another number of times. */
function rewriteBody(bin: Uint8Array, start: number, end: number, expected: number): Uint8Array | undefined {
  // [mul at, local.get at, after local.get, after add] of each match
  const hits: number[][] = [];
  for (let q = bin.indexOf(0xfd, start); q >= 0 && q < end; q = bin.indexOf(0xfd, q + 1)) {
    if (bin[q + 1] !== MUL[1] || bin[q + 2] !== MUL[2] || bin[q + 3] !== LOCAL_GET) continue;
    let r = q + 4;
    while (r < end && bin[r]! >= 0x80) r++;
    r++;
    if (r + 3 > end || bin[r] !== ADD[0] || bin[r + 1] !== ADD[1] || bin[r + 2] !== ADD[2]) continue;
    hits.push([q, q + 3, r, r + 3]);
  }
  if (hits.length !== expected) return undefined;
  const parts: Uint8Array[] = [];
  let q = start;
  for (const [mul, get, getEnd, addEnd] of hits) {
    parts.push(bin.subarray(q, mul!), bin.subarray(get!, getEnd!), RELAXED_MADD);
    q = addEnd!;
  }
  parts.push(bin.subarray(q, end));
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const part of parts) {
    out.set(part, o);
    o += part.length;
  }
  return out;
}
