// The runtime's one error type: every failure of loadModel/Model.run is a ModelcRuntimeError with a code.
// Neighbours: thrown by runtime/load.ts, source.ts, sections.ts, model.ts; re-exported by runtime/index.ts.

/**
 * What went wrong, as a stable string callers can switch on:
 * - `bad-source`: the source is not bytes/URL/path, or a file could not be read or fetched (a missing file:
 *   "cannot read PATH: no such file", the system error as `cause`).
 * - `bad-option`: an option has a value outside its documented set (a Model.run `outputs` array of the wrong type,
 *   too short for the batch, or for no output of the model), an unknown key (the message lists the valid keys
 *   and suggests the closest for a likely typo), the options argument is not a plain object (null, an array, a string),
 *   two Model.run `outputs` sharing memory, or loadModel `weights` for an artifact that embeds its weights.
 * - `not-artifact`: the bytes are not wasm or carry no `modelc.manifest` section.
 * - `bad-manifest`: the manifest is malformed or of an unsupported format version.
 * - `no-simd`: SIMD was required (or only SIMD bytes were given) but is unavailable or not wanted.
 * - `no-relaxed`: the relaxed-SIMD build was required (or only its bytes were given) but is unavailable or not wanted.
 * - `no-module`: the manifest names no module of the wanted flavour.
 * - `weights`: the weights file is missing, has the wrong length or the wrong SHA-256.
 * - `instantiate`: the module failed to compile/instantiate or does not follow the ABI.
 * - `bad-inputs`: Model.run's `inputs` is not an object keyed by input name (null, a number, a bare typed array...).
 * - `unknown-input`, `missing-input`, `bad-dtype`, `bad-length`, `bad-batch`: Model.run argument errors.
 * - `bad-value`: an id input of an embedding holds a value outside the table (manifest `range`), or an f32 input
 *   holds a NaN (unless Model.run's `nan: "allow"`).
 * - `trap`: the module trapped while running (a compiler bug or corrupted memory).
 * - `memory`: the activations for this batch do not fit in wasm32 memory (4 GiB) or growth failed.
 * - `worker`: (modelc/runtime/threads) a worker thread failed to start or died while running.
 * - `closed`: (modelc/runtime/threads) the threaded model was closed.
 */
export type ModelcRuntimeErrorCode =
  | "bad-source"
  | "bad-option"
  | "not-artifact"
  | "bad-manifest"
  | "no-simd"
  | "no-relaxed"
  | "no-module"
  | "weights"
  | "instantiate"
  | "bad-inputs"
  | "unknown-input"
  | "missing-input"
  | "bad-dtype"
  | "bad-length"
  | "bad-batch"
  | "bad-value"
  | "trap"
  | "memory"
  | "worker"
  | "closed";

/** Error thrown by the modelc runtime. `code` classifies it; `message` names what was expected and given. */
export class ModelcRuntimeError extends Error {
  /** Stable classification of the failure (see ModelcRuntimeErrorCode). */
  readonly code: ModelcRuntimeErrorCode;

  /** `options.cause`: the underlying error (e.g. Node's ENOENT), kept as `Error.cause`. */
  constructor(code: ModelcRuntimeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ModelcRuntimeError";
    this.code = code;
  }
}
