// Appending custom sections to a finished wasm binary (the manifest and variant travel inside the module).
// Neighbours: artifact/build.ts (caller); backend/wasm/module.ts (makes modules with room for them: bytesWithRoom);
// runtime/sections.ts reads them back.

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
 * `wasm` with a custom section appended: id 0, LEB128 section size, LEB128 name length, UTF-8 name, payload.
 * Custom sections may appear anywhere, so appending keeps the module valid. A copy, or written into the room of
 * a bytesWithRoom array (see appendCustomSections); `wasm` itself is never changed.
 */
export function appendCustomSection(wasm: Uint8Array, name: string, payload: Uint8Array | string): Uint8Array {
  return appendCustomSections(wasm, [[name, payload]]);
}

/**
 * Property of a buffer made by bytesWithRoom: the end of the longest array handed out on it; the bytes after it are
 * free. A global symbol, so that every copy of this module agrees (the esbuild bundle and dist/ may both be loaded,
 * e.g. the emitter from one and buildArtifact from the other).
 */
const ROOM_FROM: unique symbol = Symbol.for("modelc.bytesWithRoom.end");
type RoomyBuffer = ArrayBufferLike & { [ROOM_FROM]?: number };

/**
 * A zeroed array of `length` bytes on a buffer with `room` more bytes after them, for a module that is going to
 * get custom sections (backend/wasm/module.ts appendDataSection makes modules with embedded weights this way):
 * appendCustomSections then writes the sections into the room instead of copying the module (megabytes) to a new
 * buffer. The room is never part of any array handed out, and pages of it that stay unused are never touched.
 */
export function bytesWithRoom(length: number, room: number): Uint8Array {
  const buffer: RoomyBuffer = new ArrayBuffer(length + room);
  buffer[ROOM_FROM] = length;
  return new Uint8Array(buffer, 0, length);
}

/**
 * `wasm` with several custom sections appended in order (the same bytes as appendCustomSection applied once per
 * section). When `wasm` came from bytesWithRoom (or is the result of an earlier call on such an array) and the
 * sections fit its room, the result is a longer array on the same buffer, the sections written into the room and
 * `wasm` left as it was; otherwise (and for every later call on the same `wasm`) a copy. A module is megabytes with
 * embedded weights, so the copy is what this saves.
 */
export function appendCustomSections(wasm: Uint8Array, sections: [name: string, payload: Uint8Array | string][]): Uint8Array {
  const enc = new TextEncoder();
  const parts: ArrayLike<number>[] = [];
  let added = 0;
  for (const [name, payload] of sections) {
    const nameBytes = enc.encode(name);
    const data = typeof payload === "string" ? enc.encode(payload) : payload;
    const nameLen = uleb128(nameBytes.length);
    const size = uleb128(nameLen.length + nameBytes.length + data.length);
    parts.push([0], size, nameLen, nameBytes, data);
    added += 1 + size.length + nameLen.length + nameBytes.length + data.length;
  }
  const buffer: RoomyBuffer = wasm.buffer;
  const end = wasm.byteOffset + wasm.length;
  let out: Uint8Array;
  if (buffer[ROOM_FROM] === end && buffer.byteLength - end >= added) {
    out = new Uint8Array(buffer, wasm.byteOffset, wasm.length + added);
    buffer[ROOM_FROM] = end + added;
  } else {
    out = new Uint8Array(wasm.length + added);
    out.set(wasm, 0);
  }
  let p = wasm.length;
  for (const b of parts) {
    out.set(b, p);
    p += b.length;
  }
  return out;
}
