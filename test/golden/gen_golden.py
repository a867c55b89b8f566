# Generates the PyTorch golden vectors in test/golden/cases/*.json: one tiny .model program per op
# variant plus the two dsl-examples, with float64 PyTorch outputs. Neighbours: test/golden.test.ts reads them.
#
# Run from the repository root:  /usr/bin/python3 test/golden/gen_golden.py
# Needs torch (1.13 or later) and numpy. Deterministic: every case seeds its own generator from its name.
#
# File format (one JSON file per op family, see README.md):
#   { "family": str, "generator": str, "torch": str,
#     "cases": [ { "name": str, "source": str (a .model program),
#                  "weights": { state_dict name: Tensor },
#                  "runs": [ { "batch": int, "inputs": { name: Tensor }, "outputs": { name: Tensor } } ] } ] }
#   Tensor = { "shape": [int], "dtype": "f32" | "bf16" | "f64", "data": base64 of little-endian values }
#   "bf16" = the upper 16 bits of a float32 (used for the big example weights to keep the files small;
#   the values are exact float32 numbers).
# Weights and inputs are sampled in float32 (or bf16-rounded float32), then converted to float64 for
# PyTorch, so the float64 reference interpreter and the float32 wasm module consume exactly the values
# PyTorch used. Outputs are PyTorch float64 results.

import base64
import json
import math
import os
import warnings
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "cases")
F64 = torch.float64
warnings.filterwarnings("ignore", message=".*padding=.same. with even kernel.*")

# ----------------------------------------------------------------------------------------------
# Encoding


def enc(t, dtype):
    """Tensor -> {shape, dtype, data: base64 little-endian}."""
    a = t.detach().cpu().numpy()
    if dtype == "f64":
        raw = a.astype("<f8").tobytes()
    elif dtype == "f32":
        a32 = a.astype("<f4")
        assert np.array_equal(a32.astype(np.float64), a.astype(np.float64)), "value not exact in f32"
        raw = a32.tobytes()
    elif dtype == "bf16":
        u = a.astype("<f4").view("<u4")
        assert not (u & 0xFFFF).any(), "value not exact in bf16"
        raw = (u >> 16).astype("<u2").tobytes()
    else:
        raise ValueError(dtype)
    return {"shape": list(a.shape), "dtype": dtype, "data": base64.b64encode(raw).decode("ascii")}


def store_dtype(t):
    """bf16 when every value is bf16-exact and the tensor is big; f32 otherwise."""
    if t.numel() >= 4096:
        u = t.detach().to(torch.float32).numpy().view("<u4")
        if not (u & 0xFFFF).any():
            return "bf16"
    return "f32"


# ----------------------------------------------------------------------------------------------
# Sampling (float32 values; each case gets its own generator seeded from its name)


class Rng:
    def __init__(self, name):
        self.g = torch.Generator().manual_seed(zlib.crc32(name.encode()))

    def randn(self, shape, scale=1.0):
        return (torch.randn(shape, generator=self.g, dtype=torch.float32) * scale).to(torch.float32)

    def uniform(self, shape, low, high):
        return (torch.rand(shape, generator=self.g, dtype=torch.float32) * (high - low) + low).to(torch.float32)


def linear_w(rng, out_f, in_f, bias=True, prefix="fc"):
    """nn.Linear-style weights U(-1/sqrt(in), 1/sqrt(in)), PyTorch layout [out, in]."""
    b = 1 / math.sqrt(in_f)
    w = {f"{prefix}.weight": rng.uniform([out_f, in_f], -b, b)}
    if bias:
        w[f"{prefix}.bias"] = rng.uniform([out_f], -b, b)
    return w


def conv_w(rng, out_c, in_c, kh, kw, groups=1, bias=True, prefix="conv"):
    """nn.Conv2d-style weights [O, C/groups, kh, kw], U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    fan_in = in_c // groups * kh * kw
    b = 1 / math.sqrt(fan_in)
    w = {f"{prefix}.weight": rng.uniform([out_c, in_c // groups, kh, kw], -b, b)}
    if bias:
        w[f"{prefix}.bias"] = rng.uniform([out_c], -b, b)
    return w


def bn_w(rng, c, prefix="bn"):
    """BatchNorm weights with non-trivial running statistics."""
    return {
        f"{prefix}.weight": rng.uniform([c], 0.5, 1.5),
        f"{prefix}.bias": rng.randn([c], 0.5),
        f"{prefix}.running_mean": rng.randn([c], 0.5),
        f"{prefix}.running_var": rng.uniform([c], 0.25, 2.0),
    }


# ----------------------------------------------------------------------------------------------
# Case registry

FAMILIES = {}


def case(family, name, source, inputs, forward, weights=None, batches=(1, 3), make_input=None):
    """
    Register one case. `inputs`: {name: per-sample shape}; `forward(w, x)` gets float64 torch tensors
    (weights by state_dict name, inputs by name, batch first) and returns {output name: tensor}.
    `make_input(rng, name, shape)` overrides the default randn input sampler.
    """
    rng = Rng(name)
    weights = weights(rng) if callable(weights) else (weights or {})
    w64 = {k: v.to(F64) for k, v in weights.items()}
    runs = []
    for batch in batches:
        xs = {}
        for iname, shape in inputs.items():
            full = [batch, *shape]
            xs[iname] = make_input(rng, iname, full) if make_input else rng.randn(full)
            if batch >= 64:  # big runs: bf16-exact values, stored in half the bytes
                xs[iname] = xs[iname].to(torch.bfloat16).to(torch.float32)
        with torch.no_grad():
            ys = forward(w64, {k: v.to(F64) for k, v in xs.items()})
        for k, y in ys.items():
            assert y.dtype == F64 and y.shape[0] == batch, (name, k, y.dtype, y.shape)
            assert torch.isfinite(y).all(), (name, k)
        runs.append(
            {
                "batch": batch,
                "inputs": {k: enc(v, store_dtype(v)) for k, v in xs.items()},
                "outputs": {k: enc(v, "f64") for k, v in ys.items()},
            }
        )
    FAMILIES.setdefault(family, []).append(
        {
            "name": name,
            "source": source.strip() + "\n",
            "weights": {k: enc(v, store_dtype(v)) for k, v in weights.items()},
            "runs": runs,
        }
    )


def model(name, inputs, body):
    """A one-model .model program: `inputs` = {name: per-sample shape}, `body` = statement lines."""
    lines = [f"model {name} {{"]
    for k, s in inputs.items():
        lines.append(f"  input {k}: f32[{', '.join(str(d) for d in s)}]")
    for b in body:
        lines.append(f"  {b}")
    lines.append("}")
    return "\n".join(lines)


def simple(family, name, inputs, body, forward, **kw):
    case(family, name, model(name, inputs, body), inputs, forward, **kw)


def same_pads(size, k, s, d):
    """TF/PyTorch "same" padding of one axis (extra pixel after): (before, after)."""
    total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def conv(x, w, b, stride=1, pad=(0, 0, 0, 0), dilation=1, groups=1):
    """conv2d with explicit [t, l, b, r] padding (F.pad takes (l, r, t, b))."""
    t, l, bo, r = pad
    return F.conv2d(F.pad(x, (l, r, t, bo)), w, b, stride=stride, dilation=dilation, groups=groups)


# ----------------------------------------------------------------------------------------------
# dense


def gen_dense():
    fam = "dense"
    for n_in, n_out, bias, batches in [(7, 13, True, (1, 3, 64)), (13, 33, False, (1, 3)), (33, 7, True, (1, 3, 64)),
                                       (4, 8, True, (1, 3)), (33, 13, False, (1, 3))]:
        name = f"dense_{n_in}_to_{n_out}" + ("" if bias else "_nobias")
        arg = f"{n_out}" + ("" if bias else ", bias=false")
        simple(fam, name, {"x": [n_in]}, [f"output y = x -> fc: dense({arg})"],
               lambda w, x: {"y": F.linear(x["x"], w["fc.weight"], w.get("fc.bias"))},
               weights=lambda rng, o=n_out, i=n_in, b=bias: linear_w(rng, o, i, b), batches=batches)
    # dense over the last axis of a rank-3 input ([N, 5, 13] -> [N, 5, 7])
    simple(fam, "dense_rank3", {"x": [5, 13]}, ["output y = x -> fc: dense(7)"],
           lambda w, x: {"y": F.linear(x["x"], w["fc.weight"], w["fc.bias"])},
           weights=lambda rng: linear_w(rng, 7, 13))
    simple(fam, "dense_rank4", {"x": [2, 3, 5]}, ["output y = x -> fc: dense(4)"],
           lambda w, x: {"y": F.linear(x["x"], w["fc.weight"], w["fc.bias"])},
           weights=lambda rng: linear_w(rng, 4, 5))
    # an unnamed layer gets the automatic name "<op><k>" (frontend/lower.ts): weights "dense0.*"
    simple(fam, "dense_unnamed_layer", {"x": [6]}, ["output y = x -> dense(5)"],
           lambda w, x: {"y": F.linear(x["x"], w["dense0.weight"], w["dense0.bias"])},
           weights=lambda rng: linear_w(rng, 5, 6, prefix="dense0"))
    # two layers with relu between (exercises dense+relu fusion)
    simple(fam, "dense_relu_dense", {"x": [16]}, ["output y = x -> fc1: dense(12) -> relu -> fc2: dense(5)"],
           lambda w, x: {"y": F.linear(F.relu(F.linear(x["x"], w["fc1.weight"], w["fc1.bias"])),
                                       w["fc2.weight"], w["fc2.bias"])},
           weights=lambda rng: {**linear_w(rng, 12, 16, prefix="fc1"), **linear_w(rng, 5, 12, prefix="fc2")},
           batches=(1, 3, 64))


# ----------------------------------------------------------------------------------------------
# conv2d


def gen_conv():
    fam = "conv2d"
    # (name, C, H, W, O, language args after out_channels, kernel, stride, padding [t,l,b,r] | "same",
    #  dilation, groups, bias, batches)
    specs = [
        ("conv_3x3_valid", 3, 9, 9, 4, "kernel=3", (3, 3), (1, 1), "valid", (1, 1), 1, True, (1, 3)),
        ("conv_3x3_same", 2, 5, 5, 3, 'kernel=3, padding="same"', (3, 3), (1, 1), "same", (1, 1), 1, True, (1, 3, 64)),
        ("conv_4x4_same_even_kernel", 2, 7, 7, 3, 'kernel=4, padding="same"', (4, 4), (1, 1), "same", (1, 1), 1, True, (1, 3)),
        ("conv_stride2_valid", 3, 9, 9, 4, "kernel=3, stride=2", (3, 3), (2, 2), "valid", (1, 1), 1, True, (1, 3)),
        ("conv_stride2_same_k3", 3, 8, 9, 4, 'kernel=3, stride=2, padding="same"', (3, 3), (2, 2), "same", (1, 1), 1, True, (1, 3)),
        ("conv_stride2_same_odd_k4", 3, 9, 7, 4, 'kernel=4, stride=2, padding="same"', (4, 4), (2, 2), "same", (1, 1), 1, True, (1, 3)),
        ("conv_pad_int", 3, 6, 6, 4, "kernel=3, padding=1", (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, True, (1, 3)),
        ("conv_pad_asym_tlbr", 2, 6, 7, 3, "kernel=3, padding=[1, 0, 2, 1]", (3, 3), (1, 1), (1, 0, 2, 1), (1, 1), 1, True, (1, 3)),
        ("conv_rect_kernel", 2, 7, 10, 3, "kernel=[3, 5], stride=[1, 2], padding=[1, 2]", (3, 5), (1, 2), (1, 2, 1, 2), (1, 1), 1, True, (1, 3)),
        ("conv_dilation2", 2, 11, 11, 3, "kernel=3, dilation=2", (3, 3), (1, 1), "valid", (2, 2), 1, True, (1, 3)),
        ("conv_dilation2_same", 2, 9, 8, 3, 'kernel=3, dilation=2, padding="same"', (3, 3), (1, 1), "same", (2, 2), 1, True, (1, 3)),
        ("conv_groups2", 4, 6, 6, 6, "kernel=3, padding=1, groups=2", (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 2, True, (1, 3)),
        ("conv_depthwise", 4, 7, 7, 4, 'kernel=3, padding="same", groups=4', (3, 3), (1, 1), "same", (1, 1), 4, True, (1, 3)),
        ("conv_depthwise_mult2_stride2", 3, 8, 8, 6, "kernel=3, stride=2, groups=3", (3, 3), (2, 2), "valid", (1, 1), 3, True, (1, 3)),
        ("conv_nobias", 3, 6, 6, 4, "kernel=3, bias=false", (3, 3), (1, 1), "valid", (1, 1), 1, False, (1, 3)),
        ("conv_1x1", 8, 5, 5, 6, "kernel=1", (1, 1), (1, 1), "valid", (1, 1), 1, True, (1, 3)),
        ("conv_wide_9ch", 9, 5, 6, 7, 'kernel=3, padding="same"', (3, 3), (1, 1), "same", (1, 1), 1, True, (1, 3)),
    ]
    for (name, C, H, W, O, args, k, s, pad, d, groups, bias, batches) in specs:
        if pad == "same":
            t, bo = same_pads(H, k[0], s[0], d[0])
            l, r = same_pads(W, k[1], s[1], d[1])
            pad4 = (t, l, bo, r)
        elif pad == "valid":
            pad4 = (0, 0, 0, 0)
        else:
            pad4 = pad

        def fwd(w, x, s=s, pad4=pad4, d=d, groups=groups, pad=pad):
            y = conv(x["x"], w["conv.weight"], w.get("conv.bias"), s, pad4, d, groups)
            if pad == "same" and s == (1, 1):  # our "same" rule equals PyTorch's own for stride 1
                y2 = F.conv2d(x["x"], w["conv.weight"], w.get("conv.bias"), padding="same", dilation=d, groups=groups)
                assert torch.equal(y, y2)
            return {"y": y}

        simple(fam, name, {"x": [C, H, W]}, [f"output y = x -> conv: conv2d({O}, {args})"], fwd,
               weights=lambda rng, O=O, C=C, k=k, g=groups, b=bias: conv_w(rng, O, C, k[0], k[1], g, b),
               batches=batches)

    # conv -> batchnorm -> relu (exercises batchnorm folding into the conv)
    simple(fam, "conv_bn_relu", {"x": [3, 8, 8]},
           ['output y = x -> conv: conv2d(6, kernel=3, padding="same") -> bn: batchnorm() -> relu'],
           lambda w, x: {"y": F.relu(F.batch_norm(
               F.conv2d(x["x"], w["conv.weight"], w["conv.bias"], padding=1),
               w["bn.running_mean"], w["bn.running_var"], w["bn.weight"], w["bn.bias"], False, 0.1, 1e-5))},
           weights=lambda rng: {**conv_w(rng, 6, 3, 3, 3), **bn_w(rng, 6)})


# ----------------------------------------------------------------------------------------------
# pooling


def gen_pool():
    fam = "pool"
    # (name, C, H, W, language call, torch fn, batches)
    mp = F.max_pool2d
    ap = F.avg_pool2d
    specs = [
        ("maxpool_2", 2, 6, 6, "maxpool2d(2)", lambda x: mp(x, 2), (1, 3, 64)),
        ("maxpool_2_odd_input", 2, 7, 9, "maxpool2d(2)", lambda x: mp(x, 2), (1, 3)),
        ("maxpool_2_stride1", 2, 6, 6, "maxpool2d(2, stride=1)", lambda x: mp(x, 2, 1), (1, 3)),
        ("maxpool_3_stride2_floor", 2, 8, 8, "maxpool2d(3, stride=2)", lambda x: mp(x, 3, 2), (1, 3)),
        ("maxpool_3_stride2_ceil", 2, 8, 8, "maxpool2d(3, stride=2, ceil_mode=true)", lambda x: mp(x, 3, 2, ceil_mode=True), (1, 3)),
        ("maxpool_3_stride2_pad1", 2, 7, 7, "maxpool2d(3, stride=2, padding=1)", lambda x: mp(x, 3, 2, 1), (1, 3)),
        ("maxpool_3_stride2_pad1_ceil", 2, 8, 8, "maxpool2d(3, stride=2, padding=1, ceil_mode=true)",
         lambda x: mp(x, 3, 2, 1, ceil_mode=True), (1, 3)),
        # ceil_mode drops a last window that would start inside the right padding only
        ("maxpool_2_pad1_ceil_clip", 2, 5, 5, "maxpool2d(2, stride=2, padding=1, ceil_mode=true)",
         lambda x: mp(x, 2, 2, 1, ceil_mode=True), (1, 3)),
        ("maxpool_rect", 2, 6, 9, "maxpool2d([2, 3], stride=[2, 1])", lambda x: mp(x, (2, 3), (2, 1)), (1, 3)),
        ("maxpool_dilation2", 2, 9, 9, "maxpool2d(3, stride=1, dilation=2)", lambda x: mp(x, 3, 1, 0, 2), (1, 3)),
        ("avgpool_2", 2, 6, 6, "avgpool2d(2)", lambda x: ap(x, 2), (1, 3, 64)),
        ("avgpool_2_stride1", 2, 6, 7, "avgpool2d(2, stride=1)", lambda x: ap(x, 2, 1), (1, 3)),
        ("avgpool_3_stride2_pad1", 2, 7, 7, "avgpool2d(3, stride=2, padding=1)", lambda x: ap(x, 3, 2, 1), (1, 3)),
        ("avgpool_3_stride2_pad1_exclude_pad", 2, 7, 7, "avgpool2d(3, stride=2, padding=1, count_include_pad=false)",
         lambda x: ap(x, 3, 2, 1, count_include_pad=False), (1, 3)),
        ("avgpool_3_stride2_ceil", 2, 8, 8, "avgpool2d(3, stride=2, ceil_mode=true)",
         lambda x: ap(x, 3, 2, ceil_mode=True), (1, 3)),
        ("avgpool_3_stride2_pad1_ceil", 2, 8, 8, "avgpool2d(3, stride=2, padding=1, ceil_mode=true)",
         lambda x: ap(x, 3, 2, 1, ceil_mode=True), (1, 3)),
        ("avgpool_3_stride2_pad1_ceil_exclude_pad", 2, 8, 8,
         "avgpool2d(3, stride=2, padding=1, ceil_mode=true, count_include_pad=false)",
         lambda x: ap(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), (1, 3)),
        ("avgpool_2_pad1_ceil_clip", 2, 5, 5, "avgpool2d(2, stride=2, padding=1, ceil_mode=true)",
         lambda x: ap(x, 2, 2, 1, ceil_mode=True), (1, 3)),
        ("global_avgpool", 3, 5, 7, "global_avgpool2d", lambda x: x.mean(dim=(2, 3), keepdim=True), (1, 3, 64)),
        ("global_avgpool_1x1", 4, 1, 1, "global_avgpool2d", lambda x: x.mean(dim=(2, 3), keepdim=True), (1, 3)),
    ]
    for name, C, H, W, call, fn, batches in specs:
        simple(fam, name, {"x": [C, H, W]}, [f"output y = x -> {call}"], lambda w, x, fn=fn: {"y": fn(x["x"])},
               batches=batches)
    # all inputs negative: max pool padding must behave as -inf, not 0
    simple(fam, "maxpool_3_pad1_negative_inputs", {"x": [2, 6, 6]}, ["output y = x -> maxpool2d(3, stride=1, padding=1)"],
           lambda w, x: {"y": mp(x["x"], 3, 1, 1)}, make_input=lambda rng, n, s: rng.randn(s) - 5.0)
    simple(fam, "maxpool_2_pad1_ceil_negative_inputs", {"x": [2, 5, 5]},
           ["output y = x -> maxpool2d(2, stride=2, padding=1, ceil_mode=true)"],
           lambda w, x: {"y": mp(x["x"], 2, 2, 1, ceil_mode=True)}, make_input=lambda rng, n, s: rng.randn(s) - 5.0)
    simple(fam, "global_avgpool_28x28", {"x": [2, 28, 28]}, ["output y = x -> global_avgpool2d"],
           lambda w, x: {"y": x["x"].mean(dim=(2, 3), keepdim=True)})


# ----------------------------------------------------------------------------------------------
# shapes: flatten, reshape, concat


def gen_shape():
    fam = "shape"
    simple(fam, "flatten_default", {"x": [2, 3, 4]}, ["output y = x -> flatten"],
           lambda w, x: {"y": torch.flatten(x["x"], 1)}, batches=(1, 3, 64))
    simple(fam, "flatten_start_dim2", {"x": [2, 3, 4]}, ["output y = x -> flatten(start_dim=2)"],
           lambda w, x: {"y": torch.flatten(x["x"], 2)})
    simple(fam, "reshape_4x6", {"x": [2, 3, 4]}, ["output y = x -> reshape(shape=[4, 6])"],
           lambda w, x: {"y": x["x"].reshape(x["x"].shape[0], 4, 6)})
    simple(fam, "reshape_infer_dim", {"x": [12]}, ["output y = x -> reshape(shape=[3, -1])"],
           lambda w, x: {"y": x["x"].reshape(x["x"].shape[0], 3, -1)})
    # reshape then dense: the dense reads the reshaped layout
    simple(fam, "reshape_dense", {"x": [2, 3, 4]}, ["output y = x -> reshape(shape=[4, 6]) -> fc: dense(5)"],
           lambda w, x: {"y": F.linear(x["x"].reshape(x["x"].shape[0], 4, 6), w["fc.weight"], w["fc.bias"])},
           weights=lambda rng: linear_w(rng, 5, 6))
    simple(fam, "reshape_to_image_conv", {"x": [48]},
           ["output y = x -> reshape(shape=[3, 4, 4]) -> conv: conv2d(2, kernel=3, padding=1)"],
           lambda w, x: {"y": F.conv2d(x["x"].reshape(-1, 3, 4, 4), w["conv.weight"], w["conv.bias"], padding=1)},
           weights=lambda rng: conv_w(rng, 2, 3, 3, 3))
    simple(fam, "concat_axis1", {"a": [2, 3, 3], "b": [3, 3, 3]}, ["output y = concat(a, b, axis=1)"],
           lambda w, x: {"y": torch.cat([x["a"], x["b"]], 1)}, batches=(1, 3, 64))
    simple(fam, "concat_axis2", {"a": [2, 3, 4], "b": [2, 5, 4]}, ["output y = concat(a, b, axis=2)"],
           lambda w, x: {"y": torch.cat([x["a"], x["b"]], 2)})
    simple(fam, "concat_axis3", {"a": [2, 3, 4], "b": [2, 3, 1]}, ["output y = concat(a, b, axis=3)"],
           lambda w, x: {"y": torch.cat([x["a"], x["b"]], 3)})
    simple(fam, "concat_axis_last_negative", {"a": [3, 2], "b": [3, 5]}, ["output y = concat(a, b, axis=-1)"],
           lambda w, x: {"y": torch.cat([x["a"], x["b"]], -1)})
    simple(fam, "concat_three_flat", {"a": [3], "b": [5], "c": [1]}, ["output y = concat(a, b, c, axis=1)"],
           lambda w, x: {"y": torch.cat([x["a"], x["b"], x["c"]], 1)})
    # concat of two computed branches (inception-style)
    simple(fam, "concat_branches", {"x": [3, 6, 6]},
           ["let p = x -> c1: conv2d(2, kernel=1)",
            'let q = x -> c3: conv2d(4, kernel=3, padding="same")',
            "output y = concat(p, q, axis=1)"],
           lambda w, x: {"y": torch.cat([F.conv2d(x["x"], w["c1.weight"], w["c1.bias"]),
                                         F.conv2d(x["x"], w["c3.weight"], w["c3.bias"], padding=1)], 1)},
           weights=lambda rng: {**conv_w(rng, 2, 3, 1, 1, prefix="c1"), **conv_w(rng, 4, 3, 3, 3, prefix="c3")})


# ----------------------------------------------------------------------------------------------
# elementwise add / mul with broadcasting


def gen_elementwise():
    fam = "elementwise"
    simple(fam, "add_same_shape", {"a": [2, 3, 5], "b": [2, 3, 5]}, ["output y = a + b"],
           lambda w, x: {"y": x["a"] + x["b"]}, batches=(1, 3, 64))
    simple(fam, "mul_same_shape", {"a": [7], "b": [7]}, ["output y = a * b"], lambda w, x: {"y": x["a"] * x["b"]})
    simple(fam, "add_bcast_channel", {"x": [3, 4, 5], "s": [3, 1, 1]}, ["output y = x + s"],
           lambda w, x: {"y": x["x"] + x["s"]}, batches=(1, 3, 64))
    simple(fam, "mul_bcast_channel", {"x": [3, 4, 5], "s": [3, 1, 1]}, ["output y = x * s"],
           lambda w, x: {"y": x["x"] * x["s"]})
    simple(fam, "mul_bcast_channel_left", {"s": [3, 1, 1], "x": [3, 4, 5]}, ["output y = s * x"],
           lambda w, x: {"y": x["s"] * x["x"]})
    simple(fam, "mul_bcast_spatial", {"m": [1, 4, 5], "x": [3, 4, 5]}, ["output y = m * x"],
           lambda w, x: {"y": x["m"] * x["x"]})
    simple(fam, "add_bcast_per_sample_scalar", {"x": [3, 4, 5], "s": [1, 1, 1]}, ["output y = x + s"],
           lambda w, x: {"y": x["x"] + x["s"]})
    simple(fam, "mul_add_precedence_two_products", {"a": [5], "b": [5], "c": [5], "d": [5]}, ["output y = a * b + c * d"],
           lambda w, x: {"y": x["a"] * x["b"] + x["c"] * x["d"]})
    simple(fam, "add_bcast_row", {"x": [4, 5], "r": [1, 5]}, ["output y = x + r"], lambda w, x: {"y": x["x"] + x["r"]})
    simple(fam, "mul_bcast_col", {"x": [4, 5], "c": [4, 1]}, ["output y = x * c"], lambda w, x: {"y": x["x"] * x["c"]})
    simple(fam, "add_bcast_both_sides", {"a": [3, 1, 5], "b": [1, 4, 1]}, ["output y = a + b"],
           lambda w, x: {"y": x["a"] + x["b"]})
    # squeeze-and-excitation style: an image times its own per-channel mean [N, C, 1, 1]
    simple(fam, "mul_se_gate", {"x": [4, 5, 6]}, ["let g = x -> global_avgpool2d -> sigmoid", "output y = x * g"],
           lambda w, x: {"y": x["x"] * torch.sigmoid(x["x"].mean(dim=(2, 3), keepdim=True))})
    simple(fam, "add_mul_precedence", {"a": [6], "b": [6], "c": [6]}, ["output y = a + b * c"],
           lambda w, x: {"y": x["a"] + x["b"] * x["c"]})
    simple(fam, "mul_scalar_constant", {"x": [2, 3, 5]}, ["output y = x * 0.5"], lambda w, x: {"y": x["x"] * 0.5})
    simple(fam, "add_scalar_constant_left", {"x": [7]}, ["output y = 1.5 + x"], lambda w, x: {"y": 1.5 + x["x"]})
    simple(fam, "add_same_value_twice", {"x": [5]}, ["output y = x + x"], lambda w, x: {"y": x["x"] + x["x"]})
    # residual connection around a conv
    simple(fam, "add_residual_conv", {"x": [3, 6, 6]},
           ['let r = x -> conv: conv2d(3, kernel=3, padding="same")', "output y = x + r -> relu"],
           lambda w, x: {"y": x["x"] + F.relu(F.conv2d(x["x"], w["conv.weight"], w["conv.bias"], padding=1))},
           weights=lambda rng: conv_w(rng, 3, 3, 3, 3))


# ----------------------------------------------------------------------------------------------
# batchnorm


def gen_batchnorm():
    fam = "batchnorm"

    def bn(x, w, eps=1e-5):
        return F.batch_norm(x, w["bn.running_mean"], w["bn.running_var"], w["bn.weight"], w["bn.bias"], False, 0.1, eps)

    simple(fam, "batchnorm2d", {"x": [3, 4, 4]}, ["output y = x -> bn: batchnorm()"],
           lambda w, x: {"y": bn(x["x"], w)}, weights=lambda rng: bn_w(rng, 3), batches=(1, 3, 64))
    simple(fam, "batchnorm1d", {"x": [6]}, ["output y = x -> bn: batchnorm()"],
           lambda w, x: {"y": bn(x["x"], w)}, weights=lambda rng: bn_w(rng, 6))
    simple(fam, "batchnorm1d_ncl", {"x": [5, 6]}, ["output y = x -> bn: batchnorm()"],
           lambda w, x: {"y": bn(x["x"], w)}, weights=lambda rng: bn_w(rng, 5))
    simple(fam, "batchnorm2d_eps", {"x": [3, 4, 4]}, ["output y = x -> bn: batchnorm(eps=0.001)"],
           lambda w, x: {"y": bn(x["x"], w, 1e-3)}, weights=lambda rng: bn_w(rng, 3))
    simple(fam, "dense_batchnorm1d", {"x": [8]}, ["output y = x -> fc: dense(6) -> bn: batchnorm() -> relu"],
           lambda w, x: {"y": F.relu(bn(F.linear(x["x"], w["fc.weight"], w["fc.bias"]), w))},
           weights=lambda rng: {**linear_w(rng, 6, 8), **bn_w(rng, 6)})


# ----------------------------------------------------------------------------------------------
# activations and dropout


def gen_activation():
    fam = "activation"
    acts = [
        ("act_relu", "relu", F.relu),
        ("act_sigmoid", "sigmoid", torch.sigmoid),
        ("act_tanh", "tanh", torch.tanh),
        ("leaky_relu_default", "leaky_relu", lambda x: F.leaky_relu(x, 0.01)),
        ("leaky_relu_alpha", "leaky_relu(alpha=0.2)", lambda x: F.leaky_relu(x, 0.2)),
        ("gelu_default", "gelu", lambda x: F.gelu(x)),
        ("gelu_exact", 'gelu(approximate="none")', lambda x: F.gelu(x)),
        ("gelu_tanh", 'gelu(approximate="tanh")', lambda x: F.gelu(x, approximate="tanh")),
    ]
    for name, call, fn in acts:
        simple(fam, name, {"x": [3, 5, 7]}, [f"output y = x -> {call}"], lambda w, x, fn=fn: {"y": fn(x["x"])},
               batches=(1, 3),
               make_input=lambda rng, n, s: rng.randn(s, 2.0))
    # saturating inputs: |x| up to ~100 must not overflow to NaN/Inf (sigmoid/tanh/gelu)
    for name, call, fn in [("sigmoid_large", "sigmoid", torch.sigmoid), ("tanh_large", "tanh", torch.tanh),
                           ("gelu_large", "gelu", lambda x: F.gelu(x)),
                           ("gelu_tanh_large", 'gelu(approximate="tanh")', lambda x: F.gelu(x, approximate="tanh"))]:
        simple(fam, name, {"x": [16]}, [f"output y = x -> {call}"], lambda w, x, fn=fn: {"y": fn(x["x"])},
               make_input=lambda rng, n, s: rng.randn(s, 40.0))
    simple(fam, "dropout_identity", {"x": [9]}, ["output y = x -> dropout(0.5)"],
           lambda w, x: {"y": x["x"].clone()})
    simple(fam, "dropout_between_layers", {"x": [8]}, ["output y = x -> fc: dense(6) -> dropout(0.1) -> relu"],
           lambda w, x: {"y": F.relu(F.linear(x["x"], w["fc.weight"], w["fc.bias"]))},
           weights=lambda rng: linear_w(rng, 6, 8))


# ----------------------------------------------------------------------------------------------
# softmax


def large_logits(rng, name, shape):
    """Logits up to +-90 (exp(90) overflows float32): per-row patterns on the last axis."""
    x = rng.randn(shape, 30.0).clamp(-90, 90)
    flat = x.reshape(-1, shape[-1])
    for r in range(flat.shape[0]):
        pat = r % 4
        if pat == 0:
            flat[r, 0], flat[r, 1] = 90.0, -90.0
        elif pat == 1:
            flat[r, :] = -90.0
        elif pat == 2:
            flat[r, :] = -90.0
            flat[r, 2], flat[r, -1] = 90.0, 90.0
        else:
            flat[r, 0], flat[r, -1] = 90.0, 89.5
    return flat.reshape(shape).to(torch.float32)


def gen_softmax():
    fam = "softmax"
    simple(fam, "softmax_axis1", {"x": [10]}, ["output y = softmax(x, axis=1)"],
           lambda w, x: {"y": F.softmax(x["x"], 1)}, batches=(1, 3, 64))
    simple(fam, "softmax_last_axis", {"x": [3, 7]}, ["output y = softmax(x, axis=-1)"],
           lambda w, x: {"y": F.softmax(x["x"], -1)})
    simple(fam, "softmax_last_axis_pipe", {"x": [3, 7]}, ["output y = x -> softmax(axis=2)"],
           lambda w, x: {"y": F.softmax(x["x"], 2)})
    simple(fam, "softmax_channel_axis", {"x": [4, 3, 3]}, ["output y = softmax(x, axis=1)"],
           lambda w, x: {"y": F.softmax(x["x"], 1)})
    simple(fam, "softmax_middle_axis", {"x": [3, 4, 5]}, ["output y = softmax(x, axis=2)"],
           lambda w, x: {"y": F.softmax(x["x"], 2)})
    simple(fam, "softmax_singleton_axis", {"x": [3, 1]}, ["output y = softmax(x, axis=2)"],
           lambda w, x: {"y": F.softmax(x["x"], 2)})
    simple(fam, "softmax_large_logits", {"x": [10]}, ["output y = softmax(x, axis=1)"],
           lambda w, x: {"y": F.softmax(x["x"], 1)}, make_input=large_logits, batches=(1, 3, 64))
    simple(fam, "softmax_large_logits_last_axis", {"x": [4, 9]}, ["output y = softmax(x, axis=-1)"],
           lambda w, x: {"y": F.softmax(x["x"], -1)}, make_input=large_logits, batches=(1, 3))


# ----------------------------------------------------------------------------------------------
# composites: several outputs (incl. intermediates and aliases), blocks, branches


def gen_composite():
    fam = "composite"
    simple(fam, "output_intermediate", {"x": [6]}, ["let h = x -> fc: dense(8)", "output h", "output y = h -> relu"],
           lambda w, x: (lambda h: {"h": h, "y": F.relu(h)})(F.linear(x["x"], w["fc.weight"], w["fc.bias"])),
           weights=lambda rng: linear_w(rng, 8, 6))
    simple(fam, "output_flatten_alias", {"x": [2, 3, 3]},
           ["let f = x -> flatten", "output f", "output y = f -> fc: dense(3)"],
           lambda w, x: (lambda f: {"f": f, "y": F.linear(f, w["fc.weight"], w["fc.bias"])})(torch.flatten(x["x"], 1)),
           weights=lambda rng: linear_w(rng, 3, 18))
    simple(fam, "output_reshape_of_input", {"x": [6]},
           ["output y = x -> reshape(shape=[2, 3])", "output z = x -> relu"],
           lambda w, x: {"y": x["x"].reshape(-1, 2, 3), "z": F.relu(x["x"])})
    simple(fam, "mlp_mixed_activations", {"x": [12]},
           ["let h = x -> fc1: dense(24) -> gelu -> fc2: dense(12) -> leaky_relu(alpha=0.1)",
            "output y = h -> fc3: dense(5) -> tanh",
            "output p = h -> fc4: dense(3) -> sigmoid"],
           lambda w, x: (lambda h: {
               "y": torch.tanh(F.linear(h, w["fc3.weight"], w["fc3.bias"])),
               "p": torch.sigmoid(F.linear(h, w["fc4.weight"], w["fc4.bias"]))})(
               F.leaky_relu(F.linear(F.gelu(F.linear(x["x"], w["fc1.weight"], w["fc1.bias"])),
                                     w["fc2.weight"], w["fc2.bias"]), 0.1)),
           weights=lambda rng: {**linear_w(rng, 24, 12, prefix="fc1"), **linear_w(rng, 12, 24, prefix="fc2"),
                                **linear_w(rng, 5, 12, prefix="fc3"), **linear_w(rng, 3, 12, prefix="fc4")},
           batches=(1, 3, 64))

    nested = """
# blocks inside blocks: layer names nest like PyTorch submodules ("o.i1.conv.weight")
block inner(x, c: int, k: int = 1) {
  return x -> conv: conv2d(c, kernel=k, padding="same") -> relu
}
block outer(x, c: int) {
  let a = x -> i1: inner(c)
  return a -> i2: inner(c, k=3)
}
model nested_blocks {
  input x: f32[3, 5, 5]
  output y = x -> o: outer(4)
}
"""
    case(fam, "nested_blocks", nested, {"x": [3, 5, 5]},
         lambda w, x: {"y": F.relu(F.conv2d(F.relu(F.conv2d(x["x"], w["o.i1.conv.weight"], w["o.i1.conv.bias"])),
                                            w["o.i2.conv.weight"], w["o.i2.conv.bias"], padding=1))},
         weights=lambda rng: {**conv_w(rng, 4, 3, 1, 1, prefix="o.i1.conv"), **conv_w(rng, 4, 4, 3, 3, prefix="o.i2.conv")})

    source = """
# stem -> residual block -> depthwise separable conv -> two pooled branches -> classifier
block res(x, c: int) {
  let h = x -> c1: conv2d(c, kernel=3, padding=1, bias=false) -> bn1: batchnorm() -> relu
  let h2 = h -> c2: conv2d(c, kernel=3, padding=1, bias=false) -> bn2: batchnorm()
  let s = x + h2
  return s -> relu
}

model mini_resnet {
  input image: f32[3, 12, 12]
  let s = image -> stem: conv2d(8, kernel=3, stride=2, padding="same") -> bn: batchnorm() -> relu
  let r = s -> res1: res(8)
  let d = r -> dw: conv2d(8, kernel=3, padding="same", groups=8) -> pw: conv2d(16, kernel=1) -> relu
  let m = d -> maxpool2d(2)
  let a = d -> avgpool2d(2)
  let g = concat(m, a, axis=1) -> global_avgpool2d -> flatten -> fc: dense(10)
  output logits = g
  output probs = softmax(g, axis=1)
}
"""

    def bn(x, w, p):
        return F.batch_norm(x, w[f"{p}.running_mean"], w[f"{p}.running_var"], w[f"{p}.weight"], w[f"{p}.bias"],
                            False, 0.1, 1e-5)

    def fwd(w, x):
        # "same" with stride 2 on 12x12: pad 0 top/left, 1 bottom/right
        s = F.relu(bn(conv(x["image"], w["stem.weight"], w["stem.bias"], 2, (0, 0, 1, 1)), w, "bn"))
        h = F.relu(bn(F.conv2d(s, w["res1.c1.weight"], None, padding=1), w, "res1.bn1"))
        h2 = bn(F.conv2d(h, w["res1.c2.weight"], None, padding=1), w, "res1.bn2")
        r = F.relu(s + h2)
        d = F.relu(F.conv2d(F.conv2d(r, w["dw.weight"], w["dw.bias"], padding=1, groups=8), w["pw.weight"], w["pw.bias"]))
        cat = torch.cat([F.max_pool2d(d, 2), F.avg_pool2d(d, 2)], 1)
        g = F.linear(torch.flatten(cat.mean(dim=(2, 3), keepdim=True), 1), w["fc.weight"], w["fc.bias"])
        return {"logits": g, "probs": F.softmax(g, 1)}

    assert same_pads(12, 3, 2, 1) == (0, 1)
    case(fam, "mini_resnet", source, {"image": [3, 12, 12]}, fwd,
         weights=lambda rng: {**conv_w(rng, 8, 3, 3, 3, prefix="stem"), **bn_w(rng, 8, "bn"),
                              **conv_w(rng, 8, 8, 3, 3, bias=False, prefix="res1.c1"), **bn_w(rng, 8, "res1.bn1"),
                              **conv_w(rng, 8, 8, 3, 3, bias=False, prefix="res1.c2"), **bn_w(rng, 8, "res1.bn2"),
                              **conv_w(rng, 8, 8, 3, 3, groups=8, prefix="dw"), **conv_w(rng, 16, 8, 1, 1, prefix="pw"),
                              **linear_w(rng, 10, 32, prefix="fc")},
         batches=(1, 3, 64))


# ----------------------------------------------------------------------------------------------
# randomized conv2d / pool configurations (fixed seed, tiny shapes): combinations no hand-written case has


def gen_fuzz():
    fam = "fuzz"
    import random
    R = random.Random(7)
    made = 0
    while made < 16:
        C, O0 = R.randint(1, 5), R.randint(1, 6)
        groups = R.choice([g for g in range(1, C + 1) if C % g == 0])
        O = O0 * groups if R.random() < 0.5 else max(groups, (O0 // groups) * groups)
        H, W = R.randint(3, 9), R.randint(3, 9)
        kh, kw = R.randint(1, 4), R.randint(1, 4)
        sh, sw = R.randint(1, 3), R.randint(1, 3)
        dh, dw = R.randint(1, 2), R.randint(1, 2)
        mode = R.choice(["valid", "same", "int", "pair", "tlbr"])
        if mode == "valid":
            pad, arg = (0, 0, 0, 0), '"valid"'
        elif mode == "same":
            t, b = same_pads(H, kh, sh, dh)
            l, r = same_pads(W, kw, sw, dw)
            pad, arg = (t, l, b, r), '"same"'
        elif mode == "int":
            p = R.randint(0, 2)
            pad, arg = (p, p, p, p), str(p)
        elif mode == "pair":
            ph, pw = R.randint(0, 2), R.randint(0, 2)
            pad, arg = (ph, pw, ph, pw), f"[{ph}, {pw}]"
        else:
            pad = tuple(R.randint(0, 2) for _ in range(4))
            arg = f"[{', '.join(map(str, pad))}]"
        Ho = (H + pad[0] + pad[2] - dh * (kh - 1) - 1) // sh + 1
        Wo = (W + pad[1] + pad[3] - dw * (kw - 1) - 1) // sw + 1
        if Ho < 1 or Wo < 1:
            continue
        bias = R.random() < 0.7
        name = f"fuzz_conv_{made:02d}"
        call = (f"conv2d({O}, kernel=[{kh}, {kw}], stride=[{sh}, {sw}], padding={arg}, dilation=[{dh}, {dw}], "
                f"groups={groups}, bias={'true' if bias else 'false'})")
        simple(fam, name, {"x": [C, H, W]}, [f"output y = x -> conv: {call}"],
               lambda w, x, s=(sh, sw), pad=pad, d=(dh, dw), g=groups: {
                   "y": conv(x["x"], w["conv.weight"], w.get("conv.bias"), s, pad, d, g)},
               weights=lambda rng, O=O, C=C, kh=kh, kw=kw, g=groups, b=bias: conv_w(rng, O, C, kh, kw, g, b))
        made += 1

    made = 0
    while made < 14:
        C, H, W = R.randint(1, 4), R.randint(2, 9), R.randint(2, 9)
        kind = R.choice(["max", "avg"])
        kh, kw = R.randint(1, 4), R.randint(1, 4)
        sh, sw = R.randint(1, 3), R.randint(1, 3)
        ph, pw = R.randint(0, kh // 2), R.randint(0, kw // 2)
        ceil = R.random() < 0.5
        dh, dw = (R.randint(1, 2), R.randint(1, 2)) if kind == "max" else (1, 1)
        incl = R.random() < 0.5
        args = [f"[{kh}, {kw}]", f"stride=[{sh}, {sw}]", f"padding=[{ph}, {pw}]"]
        if ceil:
            args.append("ceil_mode=true")
        if kind == "max" and (dh, dw) != (1, 1):
            args.append(f"dilation=[{dh}, {dw}]")
        if kind == "avg" and not incl:
            args.append("count_include_pad=false")
        if kind == "max":
            fn = lambda x, k=(kh, kw), s=(sh, sw), p=(ph, pw), d=(dh, dw), c=ceil: F.max_pool2d(x, k, s, p, d, ceil_mode=c)
        else:
            fn = lambda x, k=(kh, kw), s=(sh, sw), p=(ph, pw), c=ceil, i=incl: F.avg_pool2d(x, k, s, p, c, i)
        try:
            y = fn(torch.zeros(1, C, H, W, dtype=F64))
        except RuntimeError:
            continue
        if y.numel() == 0:
            continue
        name = f"fuzz_{kind}pool_{made:02d}"
        simple(fam, name, {"x": [C, H, W]}, [f"output y = x -> {kind}pool2d({', '.join(args)})"],
               lambda w, x, fn=fn: {"y": fn(x["x"])})
        made += 1


# ----------------------------------------------------------------------------------------------
# the two dsl-examples


class Stage(nn.Module):
    def __init__(self, cin, channels):
        super().__init__()
        self.conv = nn.Conv2d(cin, channels, 3, padding="same")
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x):
        return F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)


class MnistCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.stage1 = Stage(1, 16)
        self.stage2 = Stage(16, 32)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.drop = nn.Dropout(0.25)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, image):
        h = torch.flatten(self.stage2(self.stage1(image)), 1)
        logits = self.fc2(self.drop(F.relu(self.fc1(h))))
        return {"logits": logits, "probs": F.softmax(logits, dim=1)}


class MnistMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, 10)

    def forward(self, image):
        h = torch.flatten(image, 1)
        logits = self.fc3(F.relu(self.fc2(F.relu(self.fc1(h)))))
        return {"logits": logits, "probs": F.softmax(logits, dim=1)}


def gen_examples():
    fam = "examples"
    for name, file, cls in [("mnist_mlp", "mnist-mlp.model", MnistMLP), ("mnist_cnn", "mnist-cnn.model", MnistCNN)]:
        with open(os.path.join(ROOT, "dsl-examples", file)) as f:
            source = f.read()
        torch.manual_seed(zlib.crc32(name.encode()))
        net = cls()
        with torch.no_grad():  # non-trivial running statistics, so inference batchnorm is really checked
            for m in net.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.running_mean.uniform_(-0.5, 0.5)
                    m.running_var.uniform_(0.5, 2.0)
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.uniform_(-0.2, 0.2)
        # PyTorch default init, rounded to bf16 so the big tensors store in half the bytes
        sd = {k: v.detach().to(torch.bfloat16).to(torch.float32) for k, v in net.state_dict().items()
              if not k.endswith("num_batches_tracked")}
        net64 = cls().to(F64).eval()
        net64.load_state_dict({k: v.to(F64) for k, v in sd.items()})

        case(fam, name, source, {"image": [1, 28, 28]}, lambda w, x, net64=net64: net64(x["image"]),
             weights=sd, batches=(1, 3, 64),
             make_input=lambda rng, n, s: rng.randn(s).to(torch.bfloat16).to(torch.float32))


# ----------------------------------------------------------------------------------------------


def main():
    gen_dense()
    gen_conv()
    gen_pool()
    gen_shape()
    gen_elementwise()
    gen_batchnorm()
    gen_activation()
    gen_softmax()
    gen_composite()
    gen_fuzz()
    gen_examples()
    os.makedirs(OUT, exist_ok=True)
    total = 0
    for fam, cases in FAMILIES.items():
        names = [c["name"] for c in cases]
        assert len(names) == len(set(names)), f"duplicate case names in {fam}"
        doc = {"family": fam, "generator": "test/golden/gen_golden.py", "torch": torch.__version__, "cases": cases}
        path = os.path.join(OUT, f"{fam}.json")
        with open(path, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        size = os.path.getsize(path)
        total += size
        print(f"{os.path.relpath(path, ROOT)}: {len(cases)} cases, {sum(len(c['runs']) for c in cases)} runs, {size} bytes")
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()
