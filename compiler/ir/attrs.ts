// Normalized IR attributes of each v1 op: the contract between lowering (which fills them),
// the reference interpreter and the wasm backend (which read them). Neighbours: ir/ops/*.

/**
 * Tensor inputs per op (activations first, then params), and normalized attrs.
 * All image tensors are NCHW. "N" is the batch dimension.
 *
 * dense          inputs [x [N, ..., in], weight [out, in], bias? [out]]        -> [N, ..., out]
 *                attrs  { units: number, bias: boolean }   (PyTorch nn.Linear: y = x W^T + b)
 * conv2d         inputs [x [N, C, H, W], weight [O, C/groups, kh, kw], bias? [O]] -> [N, O, Ho, Wo]
 *                attrs  { out_channels, kernel: [kh, kw], stride: [sh, sw], padding: [top, left, bottom, right],
 *                         dilation: [dh, dw], groups: number, bias: boolean }
 *                (PyTorch nn.Conv2d; "same" padding puts the extra pixel at bottom/right, as PyTorch/TF)
 * maxpool2d      inputs [x [N, C, H, W]]  attrs { kernel: [kh, kw], stride: [sh, sw], padding: [t, l, b, r],
 *                         dilation: [dh, dw], ceil_mode: boolean }     (PyTorch nn.MaxPool2d; pads are -inf)
 * avgpool2d      inputs [x]  attrs { kernel, stride, padding, ceil_mode: boolean, count_include_pad: boolean }
 *                (PyTorch nn.AvgPool2d incl. its ceil_mode window clipping rule)
 * global_avgpool2d inputs [x [N, C, H, W]] -> [N, C, 1, 1]   attrs {}   (ONNX GlobalAveragePool)
 * flatten        inputs [x]  attrs { start_dim: number }  (PyTorch torch.flatten; end_dim = -1)
 * reshape        inputs [x]  attrs { shape: number[] }    full output shape without the batch dim
 *                (resolved, no -1 left); output = [N, ...shape]
 * concat         inputs [x0, x1, ...] attrs { axis: number } (axis normalized to >= 1; never the batch axis)
 * add, mul       inputs [a, b]  attrs {}  NumPy broadcasting; "N" broadcasts only against "N" or 1
 * batchnorm      inputs [x [N, C, ...], weight [C], bias [C], running_mean [C], running_var [C]]
 *                attrs { eps: number, momentum: number }  (PyTorch nn.BatchNorm1d/2d, inference form)
 * relu, sigmoid, tanh   inputs [x]  attrs {}
 * leaky_relu     inputs [x]  attrs { alpha: number }   (PyTorch negative_slope, default 0.01)
 * gelu           inputs [x]  attrs { approximate: "none" | "tanh" }  (PyTorch nn.GELU)
 * softmax        inputs [x]  attrs { axis: number }   (axis normalized to >= 1; max-subtracted, stable)
 * dropout        inputs [x]  attrs { p: number }      identity at inference (trainOnly; removed by passes)
 */
export interface Conv2dAttrs {
  out_channels: number;
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number, number, number];
  dilation: [number, number];
  groups: number;
  bias: boolean;
}

export interface Pool2dAttrs {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number, number, number];
  dilation?: [number, number];
  ceil_mode: boolean;
  count_include_pad?: boolean;
}

export interface DenseAttrs {
  units: number;
  bias: boolean;
}
