"""PyTorch golden vectors for the token / fusion ops: transpose, mean, gated_sum (forward outputs).

Run: /usr/bin/python3 test/golden/gen_fusion.py  (torch 1.13) -> test/golden/fusion/cases.json
Inputs and params are float32-representable (numpy, rounded to f32); PyTorch computes in float64.
Gradients of the same ops are in test/golden/grad/ops.json (gen_grad.py cases transpose_*, mean_*, gated_sum*).
Each case: op, IR attrs, inputs (x or a, b), params (gate.weight, gate.bias), shape of each, and y.
"""
import json
import os

import numpy as np
import torch


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def flat(t):
    return [float(v) for v in np.asarray(t).reshape(-1)]


def main():
    rng = np.random.default_rng(20261129)
    cases = []

    def tcase(name, shape, d0, d1):
        x = f32(rng.uniform(-2, 2, shape))
        y = torch.transpose(torch.tensor(x), d0, d1).numpy()
        cases.append({"name": name, "op": "transpose", "attrs": {"dim0": d0, "dim1": d1},
                      "inputs": {"x": {"shape": list(shape), "data": flat(x)}}, "params": {},
                      "y": {"shape": list(y.shape), "data": flat(y)}})

    def mcase(name, shape, axis, keepdim):
        x = f32(rng.uniform(-2, 2, shape))
        y = torch.mean(torch.tensor(x), axis, keepdim=keepdim).numpy()
        cases.append({"name": name, "op": "mean", "attrs": {"axis": axis, "keepdim": keepdim},
                      "inputs": {"x": {"shape": list(shape), "data": flat(x)}}, "params": {},
                      "y": {"shape": list(y.shape), "data": flat(y)}})

    def gcase(name, shape):
        D = shape[-1]
        a, b = f32(rng.uniform(-2, 2, shape)), f32(rng.uniform(-2, 2, shape))
        w, bias = f32(rng.uniform(-1, 1, (D, 2 * D))), f32(rng.uniform(-1, 1, D))
        lin = torch.nn.Linear(2 * D, D).double()
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(w))
            lin.bias.copy_(torch.tensor(bias))
            at, bt = torch.tensor(a), torch.tensor(b)
            g = torch.sigmoid(lin(torch.cat([at, bt], -1)))
            y = (g * at + (1 - g) * bt).numpy()
        cases.append({"name": name, "op": "gated_sum", "attrs": {},
                      "inputs": {"a": {"shape": list(shape), "data": flat(a)}, "b": {"shape": list(shape), "data": flat(b)}},
                      "params": {"gate.weight": {"shape": [D, 2 * D], "data": flat(w)}, "gate.bias": {"shape": [D], "data": flat(bias)}},
                      "y": {"shape": list(y.shape), "data": flat(y)}})

    for B in (1, 3):
        tcase(f"transpose [{B}, 8, 49] (1, 2): conv channels -> patch tokens", (B, 8, 49), 1, 2)
        tcase(f"transpose [{B}, 3, 5, 7] (1, 3)", (B, 3, 5, 7), 1, 3)
        tcase(f"transpose [{B}, 4, 6, 2, 3] (2, 3) inner runs", (B, 4, 6, 2, 3), 2, 3)
        mcase(f"mean [{B}, 9, 16] axis 1", (B, 9, 16), 1, False)
        mcase(f"mean [{B}, 9, 7] axis 2 keepdim", (B, 9, 7), 2, True)
        mcase(f"mean [{B}, 3, 5, 6] axis 2", (B, 3, 5, 6), 2, False)
        gcase(f"gated_sum [{B}, 16]", (B, 16))
        gcase(f"gated_sum [{B}, 2, 7]", (B, 2, 7))
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fusion", "cases.json")
    with open(out, "w") as fh:
        json.dump({"generator": "test/golden/gen_fusion.py", "torch": torch.__version__, "cases": cases}, fh)
        fh.write("\n")
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
