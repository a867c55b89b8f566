// Packing dense weights into GEMM panels ("kn_panels", runtime/layout.ts) in a tiny WebAssembly function: the same
// bytes as layout.ts packKnPanels without its cost on cold JS. Neighbours: backend/wasm/emit.ts (WeightRegion.blob,
// the caller), runtime/layout.ts (the layout, its JavaScript reference), weights/uniform-fill.ts (the same idea).
//
// Why: a first compile packs every dense weight once (mnist-cvae: 1.1 M floats) while V8 still runs the loop
// unoptimized, ~15-20 ms CPU; Liftoff compiles this ~100-byte module in well under a millisecond. The function
// moves 32-bit words (i32.load / i32.store), so every bit pattern is kept, NaN payloads included.

import { uleb128 } from "../artifact/sections.js";

/**
 * The module, as text (byte offsets; the source rows at `src`, the packed panels written from `dst`):
 * ```
 * (func (export "pack") (param $src i32) (param $dst i32) (param $n i32) (param $k i32) (param $panel i32)
 *   (local $p i32) (local $w i32) (local $kk i32) (local $s i32) (local $end i32) (local $row i32) (local $stride i32)
 *   stride = k * 4
 *   (block (loop                                        ;; per panel: rows [p, p + w)
 *     (br_if 1 (i32.ge_u p n))
 *     w = select(panel, n - p, panel <u n - p);  row = src + p * stride;  kk = 0
 *     (block (loop                                      ;; per k: the panel's w values of column k
 *       (br_if 1 (i32.ge_u kk k))
 *       s = row + kk * 4;  end = s + w * stride
 *       (block (loop
 *         (br_if 1 (i32.ge_u s end))
 *         (i32.store dst (i32.load s));  dst += 4;  s += stride
 *         (br 0)))
 *       kk += 1 (br 0)))
 *     p += panel (br 0))))
 * (memory (export "mem") 1)
 * ```
 */
function moduleBytes(): Uint8Array<ArrayBuffer> {
  const [SRC, DST, N, K, PANEL, P, W, KK, S, END, ROW, STRIDE] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const get = (i: number) => [0x20, i];
  const set = (i: number) => [0x21, i];
  const i32 = (v: number) => [0x41, v]; // small non-negative constants only (one-byte signed LEB128)
  const ADD = 0x6a, SUB = 0x6b, MUL = 0x6c, GE_U = 0x4f, LT_U = 0x49;
  const addInto = (a: number, b: number[]) => [...get(a), ...b, ADD, ...set(a)];
  const body = [
    0x01, 0x07, 0x7f, // 7 locals of type i32
    ...get(K), ...i32(4), MUL, ...set(STRIDE),
    0x02, 0x40, 0x03, 0x40, // block, loop: panels
    ...get(P), ...get(N), GE_U, 0x0d, 0x01,
    ...get(PANEL), ...get(N), ...get(P), SUB, ...get(PANEL), ...get(N), ...get(P), SUB, LT_U, 0x1b, ...set(W), // select
    ...get(SRC), ...get(P), ...get(STRIDE), MUL, ADD, ...set(ROW),
    ...i32(0), ...set(KK),
    0x02, 0x40, 0x03, 0x40, // block, loop: k
    ...get(KK), ...get(K), GE_U, 0x0d, 0x01,
    ...get(ROW), ...get(KK), ...i32(4), MUL, ADD, ...set(S),
    ...get(S), ...get(W), ...get(STRIDE), MUL, ADD, ...set(END),
    0x02, 0x40, 0x03, 0x40, // block, loop: the w values
    ...get(S), ...get(END), GE_U, 0x0d, 0x01,
    ...get(DST), ...get(S), 0x28, 0x02, 0x00, 0x36, 0x02, 0x00, // i32.store(dst, i32.load(s)), align 4
    ...addInto(DST, i32(4)), ...addInto(S, get(STRIDE)),
    0x0c, 0x00, 0x0b, 0x0b, // br 0, end loop, end block
    ...addInto(KK, i32(1)),
    0x0c, 0x00, 0x0b, 0x0b,
    ...addInto(P, get(PANEL)),
    0x0c, 0x00, 0x0b, 0x0b,
    0x0b,
  ];
  const section = (id: number, content: number[]) => [id, ...uleb128(content.length), ...content];
  const name = (s: string) => [s.length, ...[...s].map((c) => c.charCodeAt(0))];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [0x01, 0x60, 0x05, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x00]), // (i32 x 5) -> ()
    ...section(3, [0x01, 0x00]),
    ...section(5, [0x01, 0x00, 0x01]), // one memory, min 1 page
    ...section(7, [0x02, ...name("pack"), 0x00, 0x00, ...name("mem"), 0x02, 0x00]),
    ...section(10, [0x01, ...uleb128(body.length), ...body]),
  ]);
}

let instance: { pack: (src: number, dst: number, n: number, k: number, panel: number) => void; mem: WebAssembly.Memory } | undefined;

/** Bytes of each of the two halves of the function's memory (source rows, packed panels) used per call. */
const HALF = 1 << 20;

/**
 * Write W [N, K] (`data`, row-major, PyTorch) into `out` (N * K elements) in the "kn_panels" layout with `panel`
 * columns per panel: the bytes of runtime/layout.ts packKnPanels(data, N, K, panel), every bit pattern kept. Works
 * through groups of whole panels (rows [p, p + m) of W are contiguous, and so are their panels), ~1 MB at a time,
 * so its memory stays about 2 MB whatever the tensor (more only when one panel is larger).
 * Errors: throws when data.length or out.length !== N * K, or panel < 1.
 */
export function packKnPanelsInto(data: Float32Array, N: number, K: number, panel: number, out: Float32Array): void {
  if (data.length !== N * K) throw new Error(`packKnPanels: expected ${N * K} elements ([${N}, ${K}]), got ${data.length}`);
  if (out.length !== N * K) throw new Error(`packKnPanels: output has ${out.length} elements, expected ${N * K} ([${N}, ${K}])`);
  if (!Number.isInteger(panel) || panel < 1) throw new Error(`packKnPanels: panel must be a positive integer, got ${panel}`);
  if (N * K === 0) return;
  type Exports = NonNullable<typeof instance>;
  const { pack, mem } = (instance ??= new WebAssembly.Instance(new WebAssembly.Module(moduleBytes())).exports as unknown as Exports);
  const rowsPer = Math.max(1, Math.floor(HALF / (4 * K * panel))) * panel; // whole panels per call
  const half = rowsPer * K * 4;
  if (mem.buffer.byteLength < 2 * half) mem.grow(Math.ceil((2 * half - mem.buffer.byteLength) / 65536));
  for (let p = 0; p < N; p += rowsPer) {
    const rows = Math.min(rowsPer, N - p);
    new Float32Array(mem.buffer, 0, rows * K).set(data.subarray(p * K, (p + rows) * K));
    pack(0, half, rows, K, panel);
    out.set(new Float32Array(mem.buffer, half, rows * K), p * K);
  }
}
