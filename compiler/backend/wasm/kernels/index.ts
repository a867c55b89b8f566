// The backend's whole op -> kernel table: inference ops (kernels/infer-index.ts) and the IR-only training ops
// (gradients, losses, optimizer updates: kernels/train-index.ts). Neighbours: train.ts and the kernel tests look
// kernels up here; emit.ts (inference modules) uses INFER_KERNELS alone.

import type { Kernel } from "./context.js";
import { INFER_KERNELS } from "./infer-index.js";
import { TRAIN_KERNELS } from "./train-index.js";

/** Kernels by op name, inference and training. */
export const KERNELS: Record<string, Kernel> = { ...INFER_KERNELS, ...TRAIN_KERNELS };
