// The modelc runtime's public entry ("modelc/runtime"): loadModel and the Model it returns. Zero
// dependencies; runs in Node, browsers and workers. Neighbours: load.ts, model.ts, manifest.ts (ABI).

export { loadModel, type LoadOptions } from "./load.js";
export { Model, type RunInputs, type RunOutputs, type RunOptions, type TypedModel } from "./model.js";
export { ModelcRuntimeError, type ModelcRuntimeErrorCode } from "./errors.js";
export { hostHasSimd, hostHasRelaxedSimd, customSections, readArtifactSections, type ModuleVariant } from "./sections.js";
export { MANIFEST_SECTION, VARIANT_SECTION, type Manifest, type IoSpec, type IoDType, type WeightEntry, type WeightLayout } from "./manifest.js";
export { readWeightTensor, packWeightTensor } from "./layout.js";
