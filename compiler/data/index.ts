// The training data pipeline's public surface: sources -> Dataset -> split -> epoch order -> batches (+ augmentation).
// Neighbours: re-exports data/{dataset,sources,mnist,labels,split,batches,augment}.ts; the wasm training loop consumes it.

export {
  type Dataset, type Field, type FieldData, type FieldDType,
  fieldOf, makeDataset, makeField, pickFields, sampleSize, selectSamples, withFields,
} from "./dataset.js";
export { type ArraySelection, type CsvOptions, readCsvDataset, readNpyFields, readNpzDataset, readSafetensorsDataset } from "./sources.js";
export { loadMnist, mnistDataset, MNIST_PIXELS, type MnistSet } from "./mnist.js";
export { mnistVqaDataset, type MnistVqaOptions, questionText, tokenizeQuestion, VQA_MAX_LEN, VQA_QUESTIONS, VQA_VOCAB } from "./vqa.js";
export { argmaxField, oneHot, toF32, toI32 } from "./labels.js";
export { epochOrder, type Split, splitCounts, splitDataset, type SplitOptions, type SplitSizes } from "./split.js";
export { type Batch, BatchBuffers, batches, type BatchOptions } from "./batches.js";
export { type AugmentOptions, type AugmentParams, ImageAugmenter, rotateImage, shiftImage } from "./augment.js";
