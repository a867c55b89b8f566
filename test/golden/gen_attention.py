"""PyTorch golden vectors for multihead_attention and the transformer encoder block.

Run: /usr/bin/python3 test/golden/gen_attention.py  (torch 1.13) -> test/golden/attention/cases.json
All tensors are float32-representable (rounded to f32) and computed in float64 by PyTorch.
Tensor encoding: {"shape": [...], "dtype": "f64" | "f32", "data": base64 of little-endian values}; inputs
and params are exactly f32 and stored as f32, PyTorch's float64 results as f64 (the real-size output as f32).

attention cases (nn.MultiheadAttention(E, H, batch_first=True, bias=True, dropout=0)): inputs
query [N, L, E], key_value [N, S, E] (absent = self-attention, module called as mha(x, x, x)),
mask [N, S] (1 = ignore; passed as key_padding_mask bool), causal (attn_mask = j > i); params
in_proj_weight, in_proj_bias, out_proj.weight, out_proj.bias; g (upstream gradient, loss = sum(y * g));
expect: y, weights (head-averaged [N, L, S]), grads of query / key_value (self: of x) and of the params.
A fully masked sample gives NaN in PyTorch; for it the expected values are written by hand: y =
out_proj.bias, weights 0, no input gradient, and its rows add sum(g) to out_proj.bias's gradient only
(PyTorch runs on the other samples).

block cases (nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, activation="gelu",
norm_first=True, batch_first=True, dropout=0), eval): x, params by state_dict name, g, expect y,
grads of x and every param. The real-size case (128, 4, 512, x [1, 64, 128]) is forward only and
stores no weights: they come from `det(name, shape)` (sin formula, rounded to f32) that the test
reproduces.
"""
import base64
import json
import math
import os

import numpy as np
import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def enc(a):
    a = np.ascontiguousarray(np.asarray(a, dtype=np.float64))
    return {"shape": list(a.shape), "dtype": "f64", "data": base64.b64encode(a.astype("<f8").tobytes()).decode("ascii")}


def enc32(a):
    """Exact for f32-representable values (inputs, params); halves the file."""
    a = np.ascontiguousarray(np.asarray(a, dtype=np.float64))
    b = a.astype("<f4")
    assert np.array_equal(b.astype(np.float64), a), "not f32-representable"
    return {"shape": list(a.shape), "dtype": "f32", "data": base64.b64encode(b.tobytes()).decode("ascii")}


def det(name, shape, scale):
    """Deterministic f32 weights: scale * sin(0.7 * k + len(name)) for element k (the test repeats it)."""
    n = int(np.prod(shape))
    k = np.arange(n, dtype=np.float64)
    return f32(scale * np.sin(0.7 * k + len(name))).reshape(shape)


def mha_params(rng, E):
    return {
        "in_proj_weight": f32(rng.uniform(-0.6, 0.6, (3 * E, E))),
        "in_proj_bias": f32(rng.uniform(-0.3, 0.3, 3 * E)),
        "out_proj.weight": f32(rng.uniform(-0.4, 0.4, (E, E))),
        "out_proj.bias": f32(rng.uniform(-0.3, 0.3, E)),
    }


def run_mha(E, H, params, q, kv, mask, causal, g):
    """PyTorch forward + backward; returns y, weights, dq, dkv (None for self), param grads."""
    m = nn.MultiheadAttention(E, H, batch_first=True, bias=True, dropout=0.0)
    with torch.no_grad():
        for name, p in m.named_parameters():
            p.copy_(torch.tensor(params[name]))
    qt = torch.tensor(q, requires_grad=True)
    kvt = qt if kv is None else torch.tensor(kv, requires_grad=True)
    L, S = q.shape[1], (q if kv is None else kv).shape[1]
    am = torch.triu(torch.ones(L, S, dtype=torch.bool), diagonal=1) if causal else None
    kpm = None if mask is None else torch.tensor(mask != 0)
    y, w = m(qt, kvt, kvt, key_padding_mask=kpm, attn_mask=am, need_weights=True, average_attn_weights=True)
    (y * torch.tensor(g)).sum().backward()
    grads = {name: p.grad.numpy().copy() for name, p in m.named_parameters()}
    return (y.detach().numpy(), w.detach().numpy(), qt.grad.numpy(),
            None if kv is None else kvt.grad.numpy(), grads)


def mha_case(name, rng, N, L, S, E, H, self_attn=False, masked=False, causal=False, full_masked=None):
    params = mha_params(rng, E)
    q = f32(rng.uniform(-1.5, 1.5, (N, L, E)))
    kv = None if self_attn else f32(rng.uniform(-1.5, 1.5, (N, S, E)))
    S = L if self_attn else S
    mask = None
    if masked:
        mask = (rng.uniform(0, 1, (N, S)) < 0.35).astype(np.float64)
        mask[:, 0] = 0  # keep one key per sample
        if full_masked is not None:
            mask[full_masked, :] = 1
    g = f32(rng.uniform(-1, 1, (N, L, E)))
    keep = [n for n in range(N) if n != full_masked]
    sub = lambda a: None if a is None else a[keep]
    y_k, w_k, dq_k, dkv_k, grads = run_mha(E, H, params, q[keep], sub(kv), sub(mask), causal, g[keep])
    y = np.zeros((N, L, E))
    w = np.zeros((N, L, S))
    dq = np.zeros((N, L, E))
    dkv = None if self_attn else np.zeros((N, S, E))
    y[keep], w[keep], dq[keep] = y_k, w_k, dq_k
    if dkv is not None:
        dkv[keep] = dkv_k
    if full_masked is not None:
        y[full_masked] = params["out_proj.bias"]
        grads["out_proj.bias"] = grads["out_proj.bias"] + g[full_masked].sum(axis=0)
    assert np.isfinite(y).all() and np.isfinite(dq).all()
    c = {
        "name": name, "num_heads": H, "causal": causal, "self": self_attn,
        "query": enc32(q), "g": enc32(g),
        "params": {k: enc32(v) for k, v in params.items()},
        "expect": {"y": enc(y), "weights": enc(w), "dquery": enc(dq),
                   "grads": {k: enc(v) for k, v in grads.items()}},
    }
    if kv is not None:
        c["key_value"] = enc32(kv)
        c["expect"]["dkey_value"] = enc(dkv)
    if mask is not None:
        c["mask"] = enc32(mask)
    return c


def block(d, h, ff):
    return nn.TransformerEncoderLayer(d_model=d, nhead=h, dim_feedforward=ff, activation="gelu",
                                      norm_first=True, batch_first=True, dropout=0.0).eval()


def block_case(name, rng, N, L, d, h, ff):
    m = block(d, h, ff)
    params = {}
    with torch.no_grad():
        for k, p in m.named_parameters():
            if k.startswith("norm"):
                v = f32(rng.uniform(0.7, 1.3, p.shape) if k.endswith("weight") else rng.uniform(-0.2, 0.2, p.shape))
            else:
                v = f32(rng.uniform(-0.5, 0.5, p.shape))
            p.copy_(torch.tensor(v))
            params[k] = v
    x = f32(rng.uniform(-1.5, 1.5, (N, L, d)))
    g = f32(rng.uniform(-1, 1, (N, L, d)))
    xt = torch.tensor(x, requires_grad=True)
    y = m(xt)
    (y * torch.tensor(g)).sum().backward()
    return {
        "name": name, "d_model": d, "nhead": h, "dim_feedforward": ff,
        "x": enc32(x), "g": enc32(g), "params": {k: enc32(v) for k, v in params.items()},
        "expect": {"y": enc(y.detach().numpy()), "dx": enc(xt.grad.numpy()),
                   "grads": {k: enc(p.grad.numpy()) for k, p in m.named_parameters()}},
    }


def block_real():
    d, h, ff, L = 128, 4, 512, 64
    m = block(d, h, ff)
    with torch.no_grad():
        for k, p in m.named_parameters():
            if k.startswith("norm") and k.endswith("weight"):
                v = 1.0 + det(k, p.shape, 0.2)
            else:
                v = det(k, p.shape, 1.0 / math.sqrt(p.shape[-1]))
            p.copy_(torch.tensor(f32(v)))
        x = det("x", (1, L, d), 1.0)
        y = m(torch.tensor(x))
    return {"name": "real size d_model=128 nhead=4 ff=512 x [1, 64, 128] (forward, det weights)",
            "d_model": d, "nhead": h, "dim_feedforward": ff, "seq": L,
            "expect": {"y": {"shape": list(y.shape), "dtype": "f32",
                             "data": base64.b64encode(y.numpy().astype("<f4").tobytes()).decode("ascii")}}}


def main():
    rng = np.random.default_rng(20261129)
    attn = [
        mha_case("self E=16 H=4 L=5", rng, 2, 5, 5, 16, 4, self_attn=True),
        mha_case("cross E=16 H=2 L=5 S=7", rng, 2, 5, 7, 16, 2),
        mha_case("cross + key_padding_mask E=16 H=4 L=5 S=7", rng, 3, 5, 7, 16, 4, masked=True),
        mha_case("self causal E=16 H=2 L=5", rng, 2, 5, 5, 16, 2, self_attn=True, causal=True),
        mha_case("self causal + key_padding_mask E=12 H=3 L=6", rng, 2, 6, 6, 12, 3, self_attn=True, masked=True, causal=True),
        mha_case("cross, sample 1 fully masked E=16 H=4 L=5 S=7", rng, 3, 5, 7, 16, 4, masked=True, full_masked=1),
        mha_case("cross E=8 H=1 L=3 S=9 (one head)", rng, 2, 3, 9, 8, 1),
    ]
    blocks = [block_case("block d=16 nhead=4 ff=32 x [2, 5, 16]", rng, 2, 5, 16, 4, 32), block_real()]
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "attention", "cases.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as fh:
        json.dump({"generator": "test/golden/gen_attention.py", "torch": torch.__version__,
                   "attention": attn, "block": blocks}, fh)
        fh.write("\n")
    print(f"wrote {len(attn)} attention + {len(blocks)} block cases to {out} ({os.path.getsize(out)} bytes)")


if __name__ == "__main__":
    main()
