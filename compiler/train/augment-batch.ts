// Applies the train section's augmentations to each training batch: every f32 model input with a per-sample
// shape [C, H, W] gets a seeded shift/rotation. Neighbours: data/augment.ts (ImageAugmenter, the transforms),
// train/driver.ts (calls the returned function per batch, before the train step).

import { ImageAugmenter } from "../data/augment.js";
import type { TrainSpec, TrainingGraph } from "./spec.js";

/** Augments one batch in place: `fields` keyed by data field, `samples` the batch's train-split indices. */
export type BatchAugmenter = (fields: Record<string, Float32Array | Int32Array>, samples: Int32Array, epoch: number, count: number) => void;

/**
 * The augmenter of a run: `shift(p)` and `rotate(d)` entries combine (largest of each kind wins) into one
 * ImageAugmenter per image input, seeded with spec.seed, so a sample's transform depends only on (seed,
 * epoch, sample). Returns a no-op when spec.augment is empty.
 * Errors: augmentations but no f32 [C, H, W] model input to apply them to.
 */
export function createAugmenter(spec: TrainSpec, tg: TrainingGraph): BatchAugmenter {
  if (spec.augment.length === 0) return () => undefined;
  let maxShift = 0;
  let maxRotation = 0;
  for (const a of spec.augment) {
    if (a.kind === "shift") maxShift = Math.max(maxShift, a.pixels);
    else maxRotation = Math.max(maxRotation, a.degrees);
  }
  const images = tg.dataInputs.filter((d) => d.kind === "input" && d.dtype === "f32" && d.shape.length === 3);
  if (images.length === 0)
    throw new Error(`augment: needs an image input (f32 [C, H, W] per sample); the inputs are ${tg.dataInputs.filter((d) => d.kind === "input").map((d) => `${d.name} ${d.dtype} [${d.shape.join(", ")}]`).join(", ")}`);
  const augmenters = images.map((d) => ({ field: d.field, aug: new ImageAugmenter(d.shape, { seed: spec.seed, maxShift, maxRotation }) }));
  return (fields, samples, epoch, count) => {
    for (const { field, aug } of augmenters) aug.augmentBatch(fields[field] as Float32Array, samples, epoch, count);
  };
}
