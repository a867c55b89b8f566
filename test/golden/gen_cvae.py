"""PyTorch golden vectors for the CVAE ops: gaussian_kl (value + autograd to mu and logvar, reductions
"mean" and "sum") and reparameterize's gradient with a fixed eps (z = mu + exp(0.5 * logvar) * eps).

Run: /usr/bin/python3 test/golden/gen_cvae.py  (torch 1.13) -> test/golden/cvae/cases.json
Inputs are float32-representable (numpy, rounded to f32); PyTorch computes in float64.
gaussian_kl: loss = -0.5 * sum(1 + logvar - mu^2 - exp(logvar)) per sample, mean (or sum) over the batch;
gradients of loss * gl. reparameterize: gradients of sum(z * g) to mu and logvar.
"""
import json
import os

import numpy as np
import torch


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def flat(t):
    return [float(v) for v in np.asarray(t).reshape(-1)]


def kl_case(name, shape, reduction, gl, rng, lv_range=(-3, 2)):
    mu = f32(rng.uniform(-2, 2, shape))
    lv = f32(rng.uniform(*lv_range, shape))
    mt = torch.tensor(mu, requires_grad=True)
    lt = torch.tensor(lv, requires_grad=True)
    per = -0.5 * torch.sum(1 + lt - mt ** 2 - lt.exp(), dim=tuple(range(1, len(shape))))
    loss = per.mean() if reduction == "mean" else per.sum()
    (loss * gl).backward()
    return {"name": name, "shape": list(shape), "reduction": reduction, "gl": gl, "mu": flat(mu), "logvar": flat(lv),
            "loss": float(loss), "dmu": flat(mt.grad.numpy()), "dlogvar": flat(lt.grad.numpy())}


def reparam_case(name, shape, rng):
    mu = f32(rng.uniform(-2, 2, shape))
    lv = f32(rng.uniform(-3, 2, shape))
    eps = f32(rng.standard_normal(shape))
    g = f32(rng.uniform(-1, 1, shape))
    mt = torch.tensor(mu, requires_grad=True)
    lt = torch.tensor(lv, requires_grad=True)
    z = mt + torch.exp(0.5 * lt) * torch.tensor(eps)
    (z * torch.tensor(g)).sum().backward()
    return {"name": name, "shape": list(shape), "mu": flat(mu), "logvar": flat(lv), "eps": flat(eps), "g": flat(g),
            "z": flat(z.detach().numpy()), "dmu": flat(mt.grad.numpy()), "dlogvar": flat(lt.grad.numpy())}


def main():
    rng = np.random.default_rng(20261129)
    kl = [
        kl_case("[1, 3] mean", (1, 3), "mean", 1.0, rng),
        kl_case("[5, 8] mean", (5, 8), "mean", 1.0, rng),
        kl_case("[4, 13] sum gl=0.37", (4, 13), "sum", 0.37, rng),
        kl_case("[3, 2, 5] mean gl=2", (3, 2, 5), "mean", 2.0, rng),
        kl_case("[6, 16] mean, logvar near 0", (6, 16), "mean", 1.0, rng, (-1e-3, 1e-3)),
    ]
    rep = [reparam_case("[2, 3]", (2, 3), rng), reparam_case("[5, 9]", (5, 9), rng)]
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cvae", "cases.json")
    with open(out, "w") as fh:
        json.dump({"generator": "test/golden/gen_cvae.py", "torch": torch.__version__, "gaussian_kl": kl, "reparameterize": rep}, fh)
        fh.write("\n")
    print(f"wrote {len(kl)} + {len(rep)} cases to {out}")


if __name__ == "__main__":
    main()
