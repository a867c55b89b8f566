"""PyTorch golden vectors for layernorm (nn.LayerNorm over the last dim, eps=1e-5, affine).

Run: /usr/bin/python3 test/golden/gen_layernorm.py  (torch 1.13) -> test/golden/layernorm/cases.json
Inputs are float32-representable (generated with numpy, rounded to f32); PyTorch computes in float64.
Each case: x, weight, bias, g (upstream gradient of y) and y, dx, dweight, dbias with loss = sum(y * g).
"""
import json
import os

import numpy as np
import torch

EPS = 1e-5


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def case(name, x, rng):
    D = x.shape[-1]
    w = f32(rng.uniform(0.5, 1.5, D))
    b = f32(rng.uniform(-0.5, 0.5, D))
    g = f32(rng.uniform(-1, 1, x.shape))
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    ln = torch.nn.LayerNorm(D, eps=EPS, elementwise_affine=True).double()
    with torch.no_grad():
        ln.weight.copy_(torch.tensor(w))
        ln.bias.copy_(torch.tensor(b))
    y = ln(xt)
    (y * torch.tensor(g)).sum().backward()
    flat = lambda t: [float(v) for v in np.asarray(t).reshape(-1)]
    return {
        "name": name,
        "shape": list(x.shape),
        "eps": EPS,
        "x": flat(x),
        "weight": flat(w),
        "bias": flat(b),
        "g": flat(g),
        "y": flat(y.detach().numpy()),
        "dx": flat(xt.grad.numpy()),
        "dweight": flat(ln.weight.grad.numpy()),
        "dbias": flat(ln.bias.grad.numpy()),
    }


def main():
    rng = np.random.default_rng(20261129)
    cases = []
    for B in (1, 3):
        cases.append(case(f"[{B}, 7]", f32(rng.uniform(-2, 2, (B, 7))), rng))
        cases.append(case(f"[{B}, 4, 33]", f32(rng.uniform(-2, 2, (B, 4, 33))), rng))
    const = f32(rng.uniform(-2, 2, (3, 7)))
    const[1, :] = 3.25
    cases.append(case("[3, 7] with a constant row", const, rng))
    big = f32(1e4 + rng.uniform(-1, 1, (2, 33)))
    cases.append(case("[2, 33] large offset 1e4", big, rng))
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "layernorm", "cases.json")
    with open(out, "w") as fh:
        json.dump({"generator": "test/golden/gen_layernorm.py", "torch": torch.__version__, "cases": cases}, fh)
        fh.write("\n")
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
