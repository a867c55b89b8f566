// Uniform weight init in a tiny WebAssembly function: the same xoshiro128** stream and the same f32 values as
// init.ts's JavaScript loop, without its cost on cold JS. Neighbours: weights/init.ts (caller), util/rng.ts.
//
// Why: a first compile fills ~10^5 weights while V8 still interprets the loop (boxed doubles, GC), ~15-40 ms
// CPU; Liftoff compiles this 150-byte module in well under a millisecond and runs it at native speed.
// Bit-identical by construction: the integer steps are xoshiro128** as in util/rng.ts (i32 wrap-around is
// JavaScript's Math.imul / `^` / `<<` / `>>>` arithmetic), u = u32 * 2^-32 equals u32 / 2^32 exactly, the
// value is low + w * u in f64 (no fused multiply-add in wasm) rounded to f32 to nearest, ties to even, as a
// Float32Array store does. test/weights.test.ts pins the values.

import { uleb128 } from "../artifact/sections.js";

/**
 * The module, as text (offsets in bytes; memory[0..16) holds the 4-word state, values start at `ptr`):
 * ```
 * (func (export "fill") (param $ptr i32) (param $n i32) (param $low f64) (param $w f64)
 *   (local $s0 i32) (local $s1 i32) (local $s2 i32) (local $s3 i32) (local $end i32) (local $t i32)
 *   s0..s3 = i32.load 0, 4, 8, 12;  end = ptr + n * 4
 *   (block (loop
 *     (br_if 1 (i32.ge_u ptr end))
 *     (f32.store ptr (f32.demote_f64 (f64.add low (f64.mul w
 *       (f64.mul (f64.convert_i32_u (i32.mul (i32.rotl (i32.mul s1 5) 7) 9)) 0x1p-32)))))
 *     t = s1 << 9; s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 11); ptr += 4
 *     (br 0)))
 *   i32.store 0, 4, 8, 12 = s0..s3)
 * (memory (export "mem") 1)
 * ```
 */
function moduleBytes(): Uint8Array<ArrayBuffer> {
  const [PTR, N, LOW, W, S0, S1, S2, S3, END, T] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const get = (i: number) => [0x20, i];
  const set = (i: number) => [0x21, i];
  const i32 = (v: number) => [0x41, v]; // small non-negative constants only (one-byte signed LEB128)
  const xorInto = (a: number, b: number) => [...get(a), ...get(b), 0x73, ...set(a)];
  const twoPow32 = [...new Uint8Array(new Float64Array([2 ** -32]).buffer)];
  const body = [
    0x01, 0x06, 0x7f, // 6 locals of type i32
    ...[S0, S1, S2, S3].flatMap((s, k) => [...i32(0), 0x28, 0x02, 4 * k, ...set(s)]),
    ...get(PTR), ...get(N), ...i32(2), 0x74, 0x6a, ...set(END),
    0x02, 0x40, 0x03, 0x40, // block, loop
    ...get(PTR), ...get(END), 0x4f, 0x0d, 0x01, // br_if 1 (ptr >= end)
    ...get(PTR), ...get(LOW), ...get(W),
    ...get(S1), ...i32(5), 0x6c, ...i32(7), 0x77, ...i32(9), 0x6c, // rotl(s1 * 5, 7) * 9
    0xb8, 0x44, ...twoPow32, 0xa2, // f64.convert_i32_u, * 2^-32
    0xa2, 0xa0, 0xb6, 0x38, 0x02, 0x00, // w * u, low + _, f32.demote_f64, f32.store
    ...get(S1), ...i32(9), 0x74, ...set(T),
    ...xorInto(S2, S0), ...xorInto(S3, S1), ...xorInto(S1, S2), ...xorInto(S0, S3), ...xorInto(S2, T),
    ...get(S3), ...i32(11), 0x77, ...set(S3),
    ...get(PTR), ...i32(4), 0x6a, ...set(PTR),
    0x0c, 0x00, 0x0b, 0x0b, // br 0, end loop, end block
    ...[S0, S1, S2, S3].flatMap((s, k) => [...i32(0), ...get(s), 0x36, 0x02, 4 * k]),
    0x0b,
  ];
  const section = (id: number, content: number[]) => [id, ...uleb128(content.length), ...content];
  const name = (s: string) => [s.length, ...[...s].map((c) => c.charCodeAt(0))];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [0x01, 0x60, 0x04, 0x7f, 0x7f, 0x7c, 0x7c, 0x00]), // (i32, i32, f64, f64) -> ()
    ...section(3, [0x01, 0x00]),
    ...section(5, [0x01, 0x00, 0x01]), // one memory, min 1 page
    ...section(7, [0x02, ...name("fill"), 0x00, 0x00, ...name("mem"), 0x02, 0x00]),
    ...section(10, [0x01, ...uleb128(body.length), ...body]),
  ]);
}

let instance: { fill: (ptr: number, n: number, low: number, w: number) => void; mem: WebAssembly.Memory } | undefined;

/** Values per call of the wasm function: its memory holds the state and one chunk (4 pages + 16 bytes). */
const CHUNK = 65536;

/**
 * Fill `out` with `low + w * u` (u the next out.length uniforms in [0, 1) of the xoshiro128** stream whose
 * state is `state`, as Xoshiro128.nextFloat() draws them), rounded to f32. `state` (4 words, as
 * Xoshiro128.getState() gives them) is advanced in place by out.length draws.
 */
export function fillUniform(out: Float32Array, state: Int32Array, low: number, w: number): void {
  type Exports = NonNullable<typeof instance>;
  const { fill, mem } = (instance ??= (() => {
    const exports = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes())).exports as unknown as Exports;
    exports.mem.grow(Math.ceil((16 + CHUNK * 4) / 65536) - 1);
    return exports;
  })());
  new Int32Array(mem.buffer, 0, 4).set(state);
  for (let at = 0; at < out.length; at += CHUNK) {
    const n = Math.min(CHUNK, out.length - at);
    fill(16, n, low, w);
    out.set(new Float32Array(mem.buffer, 16, n), at);
  }
  state.set(new Int32Array(mem.buffer, 0, 4));
}
