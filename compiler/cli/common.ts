// Shared pieces of the CLI commands: the output sink, the user-error type (exit 1), file reading
// with friendly errors, and number formatting. Neighbours: cli/main.ts wires the commands in cli/*.ts.

import { mkdir, open, readFile } from "node:fs/promises";
import { formatDiagnostic, hasErrors, type Diagnostic } from "../diagnostics.js";

/** Where a command prints. The real CLI writes to process.stdout/stderr; tests collect lines. */
export interface CliIo {
  /** One line (no trailing newline) of normal output. */
  out(line: string): void;
  /** One line of diagnostics/errors. */
  err(line: string): void;
}

/** A CliIo collecting lines, for tests and for callers that want the text. */
export function bufferIo(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => void stdout.push(l), err: (l) => void stderr.push(l) };
}

/** The process's stdout/stderr. */
export const processIo: CliIo = {
  out: (l) => void process.stdout.write(l + "\n"),
  err: (l) => void process.stderr.write(l + "\n"),
};

/** Exit codes: 0 ok, 1 user error (bad file, diagnostics, bad input), 2 internal error. */
export const EXIT_OK = 0;
export const EXIT_USER = 1;
export const EXIT_INTERNAL = 2;

/** An error caused by the user's input (missing file, bad option value, bad .npy): printed as `error: message`, exit 1. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}

/**
 * Why a file could not be read, for a message: "no such file" (ENOENT), "is a directory" (EISDIR), "permission
 * denied" (EACCES, EPERM), "not a directory" (ENOTDIR: a path component is a file), else the error's own message.
 */
export function readFailure(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOENT") return "no such file";
  if (code === "EISDIR") return "is a directory";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "ENOTDIR") return "not a directory on the way there";
  return e instanceof Error ? e.message : String(e);
}

/**
 * The message of a file that cannot be read: `cannot read WHAT 'PATH'[ (FOR)]: WHY`, the file named once, e.g.
 * `cannot read input file 'x.npy' (for input 'image'): no such file`.
 */
export function cannotRead(what: string, path: string, why: string, forWhat?: string): string {
  return `cannot read ${what} '${path}'${forWhat !== undefined ? ` (${forWhat})` : ""}: ${why}`;
}

/**
 * Read a file, turning any read failure into a UserError naming `what` and the path once, and why (readFailure),
 * e.g. `cannot read weights file 'w.safetensors': no such file`; `forWhat` adds what it was given for
 * ("for input 'image'").
 */
export async function readUserFile(path: string, what: string, forWhat?: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new UserError(cannotRead(what, path, readFailure(e), forWhat));
  }
}

/**
 * Check that `path` is a readable file without reading it (for files another reader opens, e.g. loadModel), with
 * readUserFile's errors: UserError `cannot read WHAT 'PATH': no such file | is a directory | permission denied`.
 */
export async function checkReadable(path: string, what: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, "r");
    if ((await handle.stat()).isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
  } catch (e) {
    throw new UserError(cannotRead(what, path, readFailure(e)));
  } finally {
    await handle?.close();
  }
}

/**
 * Why a file or directory could not be written, for a message: ENOENT "its directory does not exist", ENOTDIR "a
 * part of the path is a file, not a directory", EISDIR "is a directory", EEXIST (creating a directory) "a file of
 * that name is in the way", EACCES/EPERM "permission denied", ENOSPC "no space left on the device", EROFS "read-only
 * file system", else the error's own message.
 */
export function writeFailure(e: unknown): string {
  const reasons: Record<string, string> = {
    ENOENT: "its directory does not exist", ENOTDIR: "a part of the path is a file, not a directory", EISDIR: "is a directory",
    EEXIST: "a file of that name is in the way", EACCES: "permission denied", EPERM: "permission denied",
    ENOSPC: "no space left on the device", EROFS: "read-only file system",
  };
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return (code !== undefined ? reasons[code] : undefined) ?? (e instanceof Error ? e.message : String(e));
}

/**
 * Write `data` to `path` atomically (io/atomic.ts), turning a failure into a UserError naming `what`, the path once
 * and why (writeFailure), e.g. `cannot write ONNX file 'a/x.onnx': a part of the path is a file, not a directory`
 * (never the temp file's name). The directory must exist.
 */
export async function writeUserFile(path: string, data: Uint8Array | string, what: string): Promise<void> {
  const { writeFileAtomic } = await import("../io/atomic.js");
  try {
    await writeFileAtomic(path, data);
  } catch (e) {
    throw new UserError(`cannot write ${what} '${path}': ${writeFailure(e)}`);
  }
}

/** mkdir -p `dir` for output, turning a failure into `cannot create WHAT 'DIR': WHY` (UserError, writeFailure). */
export async function makeUserDir(dir: string, what: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw new UserError(`cannot create ${what} '${dir}': ${e && (e as NodeJS.ErrnoException).code === "EEXIST" ? "it is a file, not a directory" : writeFailure(e)}`);
  }
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** True when `bytes` start with the WebAssembly magic ("\0asm"): a compiled module, whatever the file is called. */
export function isWasm(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && WASM_MAGIC.every((b, i) => bytes[i] === b);
}

/**
 * Read a UTF-8 text file (see readUserFile). A file holding binary data (a NUL byte in its first 8 KB) is refused:
 * `cannot read model file 'x.wasm': it is a compiled WebAssembly module, not text` (or `it holds binary data, not
 * text`), instead of a parse error about its first characters.
 */
export async function readUserText(path: string, what: string): Promise<string> {
  const bytes = await readUserFile(path, what);
  if (bytes.subarray(0, 8192).includes(0))
    throw new UserError(cannotRead(what, path, isWasm(bytes) ? "it is a compiled WebAssembly module, not text" : "it holds binary data, not text"));
  return new TextDecoder().decode(bytes);
}

/** At most this many diagnostics are printed by printDiagnostics; the rest are counted ("... and 7 more errors"). */
export const MAX_PRINTED_DIAGNOSTICS = 20;

/** "3 errors", "1 error, 2 warnings". */
function countLine(errors: number, warnings: number): string {
  const parts = [`${errors} error${errors === 1 ? "" : "s"}`];
  if (warnings > 0) parts.push(`${warnings} warning${warnings === 1 ? "" : "s"}`);
  return parts.join(", ");
}

/**
 * Print diagnostics with carets (sources maps file name -> text), in the given order (checkSource's is
 * source order). The first MAX_PRINTED_DIAGNOSTICS are printed, then "... and N more errors" for the rest;
 * with two or more errors a last line counts them all ("3 errors", "25 errors, 1 warning"). A lone error
 * prints exactly as formatDiagnostic formats it, with no count. Returns true when any is an error.
 */
export function printDiagnostics(io: CliIo, diagnostics: readonly Diagnostic[], sources: Record<string, string>): boolean {
  for (const d of diagnostics.slice(0, MAX_PRINTED_DIAGNOSTICS)) io.err(formatDiagnostic(d, sources));
  const rest = diagnostics.slice(MAX_PRINTED_DIAGNOSTICS);
  const count = (ds: readonly Diagnostic[], severity: Diagnostic["severity"]) => ds.filter((d) => d.severity === severity).length;
  if (rest.length > 0) {
    const e = count(rest, "error");
    const what = e === rest.length ? (e === 1 ? "error" : "errors") : `diagnostic${rest.length === 1 ? "" : "s"} (${countLine(e, 0)})`;
    io.err(`... and ${rest.length} more ${what} not shown`);
  }
  const errors = count(diagnostics, "error");
  if (errors >= 2) io.err(countLine(errors, count(diagnostics, "warning")));
  return errors > 0;
}

/** 1234567 -> "1.2 MB"; below 1 kB exact bytes ("512 B"). Decimal units. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

/** 1234567 -> "1,234,567" (stable across locales). */
export function formatCount(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** Render rows as an aligned text table; `right` marks right-aligned (numeric) columns. */
export function table(header: string[], rows: string[][], right: ReadonlySet<number> = new Set()): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)];
}
