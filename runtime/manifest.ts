// The compiled artifact's manifest and the wasm module's ABI: the one contract between the
// compiler (backend/wasm + artifact/*) and the runtime. spec/artifact.schema.json mirrors this file.
//
// Module ABI (every modelc module: relaxed SIMD, SIMD or scalar):
//   exports  memory: WebAssembly.Memory   (defined by the module, growable; the runtime grows it)
//            run(batch: i32): void        (runs the whole graph for `batch` samples)
//            nan_scan(ptr: i32, n: i32): i32   (optional; modules since session 6: 1 when one of the `n` f32 at
//                                   byte address `ptr` is a NaN, else 0; reads memory only. Model.run calls it on
//                                   each f32 input after copying it in, before run(); without it the runtime
//                                   scans in JS)
//   memory   [0, weights.offset + weights.bytes)   weights (data segments when embedded; otherwise
//                                                   the runtime copies the weights file there)
//            [memory.activationBase, + bytesPerSample * batch)   activations, planned per sample:
//            a value with offsetPerSample `o` lives at activationBase + o * batch.
//   required bytes for a batch B = activationBase + bytesPerSample * B.
//   custom sections  "modelc.manifest": UTF-8 JSON of Manifest (the same in every build of the artifact),
//                    so one .wasm file is a complete model;
//                    "modelc.variant": "relaxed" | "simd" | "scalar", which build this module is.

/** Name of the custom section holding the manifest JSON (UTF-8) in every modelc module. */
export const MANIFEST_SECTION = "modelc.manifest";

/** Name of the custom section saying which build a module is: UTF-8 "relaxed", "simd" or "scalar". */
export const VARIANT_SECTION = "modelc.variant";

/** Element types that cross the JS/wasm boundary. */
export type IoDType = "f32" | "i32";

/** One model input or output. */
export interface IoSpec {
  name: string;
  dtype: IoDType;
  /** Shape with "N" for the batch dimension, e.g. ["N", 1, 28, 28]. */
  shape: (number | "N")[];
  /** Elements per sample (product of the non-batch dims). */
  elementsPerSample: number;
  /** Byte offset per sample inside the activation region (see module ABI above). */
  offsetPerSample: number;
  /**
   * i32 inputs read as ids by an embedding: every value must lie in the half-open [range[0], range[1]) (Model.run
   * checks it before running; the module would trap). The JSON pair cannot show the open end: `"range": [0, 18]`
   * is [0, 18), ids 0..17, with range[1] the table's row count (num_embeddings); messages and `modelc inspect`
   * write it "[0, 18)". `rangeOf` names the table that sets the bound, e.g. "q_embed.weight" (the smallest one
   * when several embeddings read this input).
   */
  range?: [number, number];
  rangeOf?: string;
}

/**
 * How a weight tensor's elements are ordered in the weights region when it is not PyTorch's row-major layout.
 * "kn_panels": a 2-D weight W [N, K] (nn.Linear [out, in]) prepacked as the GEMM operand B[k][n] = W[n][k] in
 * column panels of `panel` columns (the last one narrower, no padding); W[n][k] is float
 * p0*K + k*min(panel, N - p0) + (n - p0) from `offset`, with p0 = n - n % panel (runtime/layout.ts).
 */
export interface WeightLayout {
  kind: "kn_panels";
  panel: number;
}

/**
 * One weight tensor inside module memory (PyTorch state_dict name and shape). Stored row-major unless `layout`
 * says how it is packed; runtime/layout.ts readWeightTensor / packWeightTensor convert either way. Each tensor
 * is stored exactly once (shape-product f32 elements at `offset`).
 */
export interface WeightEntry {
  name: string;
  shape: number[];
  dtype: "f32";
  /** Absolute byte offset in module memory. */
  offset: number;
  /** Absent: PyTorch row-major layout. */
  layout?: WeightLayout;
}

export interface Manifest {
  format: "modelc-artifact";
  formatVersion: 1;
  /** Model name (also the artifact's file stem). */
  name: string;
  compilerVersion: string;
  inputs: IoSpec[];
  outputs: IoSpec[];
  memory: {
    /** Start of the activation region, bytes (16-aligned). */
    activationBase: number;
    /** Activation bytes per sample (16-aligned). */
    bytesPerSample: number;
    /** Pages (64 KiB) the module declares initially. */
    initialPages: number;
  };
  weights: {
    /** True when weights are data segments of the module; false: `file` must be loaded. */
    embedded: boolean;
    /** Weights file name (raw little-endian f32 blob laid out as in memory from `offset`). */
    file?: string;
    /** First byte of the weights region in memory. */
    offset: number;
    bytes: number;
    /** Hex SHA-256 of the weights region bytes. */
    sha256: string;
    tensors: WeightEntry[];
  };
  /**
   * Wasm files of this artifact: the SIMD module, the relaxed-SIMD one (when it differs from the SIMD module:
   * the graph has a GEMM kernel) and the scalar fallback, each when built. The runtime picks relaxed, then
   * SIMD, then scalar, by what the host validates (runtime/load.ts).
   */
  modules: {
    /** NAME.wasm: fixed-width SIMD (SIMD128). */
    simd?: string;
    /** NAME.relaxed.wasm: SIMD128 plus relaxed SIMD (fused multiply-add); present only with `simd`. */
    relaxed?: string;
    /** NAME.nosimd.wasm: no v128 at all. */
    scalar?: string;
  };
  /** Per-sample cost estimates from the op table. */
  cost: { flopsPerSample: number; ops: number };
  /**
   * The op list as compiled, for tools (`modelc inspect NAME.wasm`); the runtime never reads it. Optional: artifacts
   * compiled before it was added have none, and formatVersion stays 1 (runtimes ignore it, old and new alike).
   */
  graph?: ManifestGraph;
}

/**
 * The graph the artifact runs: compile()'s graph after the inference passes and batchnorm folding, before the
 * backend's fusion, which `fusedInto` records. `version` is this object's own layout version (1), so tools can
 * tell a later layout without the runtime's formatVersion changing.
 */
export interface ManifestGraph {
  version: 1;
  /** In execution order (the graph's node order). */
  ops: ManifestOp[];
}

/** One op of ManifestGraph, with the numbers `modelc inspect FILE.model` prints for it. */
export interface ManifestOp {
  /** Op name from the op table (spec/language.md), e.g. "conv2d". */
  op: string;
  /** Layer name (state_dict prefix), e.g. "stage1.conv"; absent for unnamed ops. */
  layer?: string;
  /** Element type of the op's output: "f32", "i32", "i8" or "u8". */
  dtype: string;
  /** Output shape, "N" for the batch dimension. */
  shape: (number | "N")[];
  /** Weight elements the op reads (params and state). */
  params: number;
  /** FLOPs per sample (the op table's cost rule at batch 1). */
  flops: number;
  /** Index (into `ops`) of the op whose kernel also runs this one (backend fusion); absent: it leads its own kernel. */
  fusedInto?: number;
  /** The kernel variant when it is worth naming, on the kernel's lead op, e.g. "implicit GEMM" (spec/kernels.md). */
  kernel?: string;
}
