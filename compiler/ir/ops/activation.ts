// Elementwise activations: relu, sigmoid, tanh, leaky_relu, gelu. Neighbours: ops/def.ts, ops/index.ts,
// ops/erf.ts (float64 erf for exact GELU).

import type { OpDef, ArgSpec } from "./def.js";
import { OpArgError } from "./def.js";
import type { Attrs, RefTensor, TensorType } from "../types.js";
import { elementwiseCost, requireFloat } from "./common.js";
import { erfc } from "./erf.js";

function unary(
  name: string,
  doc: string,
  semantics: string,
  f: (x: number, attrs: Attrs) => number,
  flopsPerElem: number,
  args: ArgSpec[] = [],
  normalize?: (args: Attrs) => Attrs,
): OpDef {
  return {
    name,
    doc,
    semantics,
    arity: 1,
    args,
    normalize: normalize ?? ((a) => ({ ...a })),
    infer: (inputs: TensorType[]) => {
      requireFloat(name, inputs[0]!);
      return [{ dtype: inputs[0]!.dtype, shape: [...inputs[0]!.shape] }];
    },
    reference: (inputs: RefTensor[], attrs: Attrs) => [
      { shape: [...inputs[0]!.shape], data: inputs[0]!.data.map((x) => f(x, attrs)) },
    ],
    cost: (inputs, _outputs, _attrs, batch) => elementwiseCost(inputs[0]!, batch, flopsPerElem),
  };
}

/** relu(x) = max(x, 0); NaN propagates (PyTorch torch.nn.ReLU). Shapes: any -> same, f32. No attrs. */
export const relu = unary(
  "relu",
  "Rectified linear unit, max(x, 0)",
  "PyTorch torch.nn.ReLU",
  (x) => (x > 0 ? x : x === x ? 0 : x),
  1,
);

/** sigmoid(x) = 1 / (1 + exp(-x)), computed without overflow (PyTorch torch.nn.Sigmoid). Any -> same, f32. */
export const sigmoid = unary(
  "sigmoid",
  "Logistic sigmoid, 1 / (1 + exp(-x))",
  "PyTorch torch.nn.Sigmoid",
  (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  4,
);

/** tanh(x) (PyTorch torch.nn.Tanh). Any -> same, f32. */
export const tanh = unary("tanh", "Hyperbolic tangent", "PyTorch torch.nn.Tanh", (x) => Math.tanh(x), 4);

/**
 * leaky_relu(x) = x if x > 0 else alpha * x. Language: `leaky_relu(alpha=0.01)`; attrs { alpha }
 * (PyTorch torch.nn.LeakyReLU, negative_slope). Any -> same, f32.
 */
export const leaky_relu = unary(
  "leaky_relu",
  "Leaky ReLU, x if x > 0 else alpha * x",
  "PyTorch torch.nn.LeakyReLU (alpha = negative_slope)",
  (x, a) => (x > 0 ? x : (a["alpha"] as number) * x),
  2,
  [{ name: "alpha", kind: "float", default: 0.01, doc: "slope for x < 0 (PyTorch negative_slope)" }],
  (a) => {
    const alpha = a["alpha"] as number;
    if (!Number.isFinite(alpha)) throw new OpArgError(`leaky_relu: alpha must be finite, got ${alpha}`, "alpha");
    return { alpha };
  },
);

const SQRT1_2 = Math.SQRT1_2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/**
 * GELU. `approximate="none"`: x * Phi(x) = 0.5 x erfc(-x / sqrt 2) (exact, float64 erf);
 * `"tanh"`: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). Language: `gelu(approximate="none")`;
 * attrs { approximate } (PyTorch torch.nn.GELU). Any -> same, f32.
 */
export const gelu = unary(
  "gelu",
  "Gaussian error linear unit, x * Phi(x) (exact or tanh approximation)",
  "PyTorch torch.nn.GELU",
  (x, a) =>
    a["approximate"] === "tanh"
      ? 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
      : 0.5 * x * erfc(-x * SQRT1_2),
  8,
  [
    {
      name: "approximate",
      kind: "string",
      default: "none",
      choices: ["none", "tanh"],
      doc: '"none" = exact erf form, "tanh" = tanh approximation',
    },
  ],
  (a) => {
    const approximate = a["approximate"];
    if (approximate !== "none" && approximate !== "tanh")
      throw new OpArgError(`gelu: approximate must be "none" or "tanh", got ${JSON.stringify(approximate)}`, "approximate");
    return { approximate };
  },
);

/** All activation ops. */
export const ACTIVATION_OPS: OpDef[] = [relu, sigmoid, tanh, leaky_relu, gelu];
