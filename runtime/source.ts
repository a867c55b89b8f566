// Where artifact files come from: bytes, URLs (fetch, or the file system for file: URLs in Node) and
// Node paths, plus sibling lookup (NAME.nosimd.wasm next to NAME.wasm). Neighbours: runtime/load.ts.

import { ModelcRuntimeError } from "./errors.js";

/** A file the runtime can read: a URL, or (Node only) a file-system path. */
export type Location = { kind: "url"; url: URL } | { kind: "path"; path: string };

/** True when running under Node (where strings may be file-system paths). */
export function isNode(): boolean {
  const g = globalThis as { process?: { versions?: { node?: unknown } } };
  return typeof g.process?.versions?.node === "string";
}

/** Copy-free view of bytes given as Uint8Array or ArrayBuffer. Errors: `bad-source` for anything else. */
export function asBytes(source: unknown, what: string): Uint8Array {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  throw new ModelcRuntimeError("bad-source", `${what} must be a Uint8Array, ArrayBuffer, URL or string, got ${describeValue(source)}`);
}

/**
 * Turn a URL or string into a Location. In Node a string with a scheme ("file:", "https:") is a URL and
 * anything else a path; elsewhere strings are URLs relative to `location.href` when there is one.
 */
export function toLocation(source: URL | string): Location {
  if (source instanceof URL) return { kind: "url", url: source };
  if (isNode()) return /^[a-zA-Z][a-zA-Z0-9+.-]+:/.test(source) ? { kind: "url", url: new URL(source) } : { kind: "path", path: source };
  const base = (globalThis as { location?: { href?: string } }).location?.href;
  try {
    return { kind: "url", url: new URL(source, base) };
  } catch {
    throw new ModelcRuntimeError("bad-source", `cannot resolve "${source}" as a URL (no base URL in this environment)`);
  }
}

/** The last path segment of a Location ("mnist.wasm"). */
export function baseName(loc: Location): string {
  if (loc.kind === "url") {
    const p = loc.url.pathname;
    return decodeURIComponent(p.slice(p.lastIndexOf("/") + 1));
  }
  return loc.path.slice(Math.max(loc.path.lastIndexOf("/"), loc.path.lastIndexOf("\\")) + 1);
}

/** The file `name` in the same directory as `loc`. */
export function sibling(loc: Location, name: string): Location {
  if (loc.kind === "url") return { kind: "url", url: new URL(encodeURIComponent(name), loc.url) };
  const cut = Math.max(loc.path.lastIndexOf("/"), loc.path.lastIndexOf("\\")) + 1;
  return { kind: "path", path: loc.path.slice(0, cut) + name };
}

/** Human-readable form of a Location for error messages. */
export function showLocation(loc: Location): string {
  return loc.kind === "url" ? loc.url.href : loc.path;
}

type FsModule = { readFile(p: string | URL): Promise<Uint8Array> };

/**
 * Read a whole file. Paths and file: URLs use `node:fs/promises` (imported on demand, so browsers
 * never see it); other URLs use fetch. Errors: `bad-source` naming the location and the cause ("no such file" for
 * a missing one), with the original error as `cause`.
 */
export async function readLocation(loc: Location): Promise<Uint8Array> {
  try {
    if (loc.kind === "path" || (loc.url.protocol === "file:" && isNode())) {
      const spec = "node:fs/promises";
      const fs = (await import(/* @vite-ignore */ spec)) as FsModule;
      const data = await fs.readFile(loc.kind === "path" ? loc.path : loc.url);
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    }
    const res = await fetch(loc.url);
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    return new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    const why = (e as { code?: unknown }).code === "ENOENT" ? "no such file" : (e as Error).message;
    throw new ModelcRuntimeError("bad-source", `cannot read ${showLocation(loc)}: ${why}`, { cause: e });
  }
}

/** Short description of a JS value's type for error messages: "Float64Array", "number[]", "string". */
export function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (ArrayBuffer.isView(v)) return (v as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag] ?? "ArrayBufferView";
  if (typeof v === "object") return (v as object).constructor?.name ?? "object";
  return typeof v;
}
