// Artifact stage entry: build the files of a compiled model, write them, validate manifests.
// Neighbours: backend/wasm/emit.ts (input), runtime/ (consumer), compiler/index.ts (re-exports).

export { buildArtifact, type Artifact, type BuildArtifactInput, type EmitResultLike } from "./build.js";
export { writeArtifactFiles } from "./write.js";
export { validateManifest } from "./validate.js";
export { appendCustomSection, appendCustomSections, uleb128 } from "./sections.js";
export { loaderJs, loaderDts, type LoaderOptions } from "./loader.js";
