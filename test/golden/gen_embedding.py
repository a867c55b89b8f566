"""PyTorch golden vectors for embedding (nn.Embedding) and positional_encoding (sinusoidal, learned).

Run: /usr/bin/python3 test/golden/gen_embedding.py  (torch 1.13) -> test/golden/embedding/cases.json
Inputs are float32-representable (numpy, rounded to f32); PyTorch computes in float64. Loss = sum(y * g).
embedding cases: ids, weight [V, D], g; y, dweight (scatter-add: repeated ids accumulate; padding_idx row 0).
positional cases: x [N, L, D], g, (learned) weight [max_len, D]; y, dx, (learned) dweight. The sinusoidal
table is the PyTorch transformer tutorial's PositionalEncoding (without dropout), built in float64.
"""
import json
import math
import os

import numpy as np
import torch


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def flat(t):
    return [float(v) for v in np.asarray(t).reshape(-1)]


def embedding_case(name, ids, V, D, padding_idx, rng):
    w = f32(rng.normal(0, 1, (V, D)))
    emb = torch.nn.Embedding(V, D, padding_idx=padding_idx).double()
    with torch.no_grad():
        emb.weight.copy_(torch.tensor(w))
    ids_t = torch.tensor(ids, dtype=torch.long)
    y = emb(ids_t)
    g = f32(rng.uniform(-1, 1, y.shape))
    (y * torch.tensor(g)).sum().backward()
    return {
        "name": name,
        "kind": "embedding",
        "num_embeddings": V,
        "embedding_dim": D,
        "padding_idx": padding_idx,
        "ids_shape": list(ids.shape),
        "ids": [int(v) for v in ids.reshape(-1)],
        "weight": flat(w),
        "g": flat(g),
        "y": flat(y.detach().numpy()),
        "dweight": flat(emb.weight.grad.numpy()),
    }


def tutorial_pe(max_len, d_model):
    # https://pytorch.org/tutorials/beginner/transformer_tutorial.html PositionalEncoding, in float64.
    position = torch.arange(max_len, dtype=torch.float64).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float64) * (-math.log(10000.0) / d_model))
    pe = torch.zeros(max_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe


def positional_case(name, kind, N, L, D, max_len, rng):
    x = f32(rng.uniform(-2, 2, (N, L, D)))
    g = f32(rng.uniform(-1, 1, (N, L, D)))
    xt = torch.tensor(x, requires_grad=True)
    out = {"name": name, "kind": "positional_encoding", "pe_kind": kind, "shape": [N, L, D], "max_len": max_len}
    if kind == "learned":
        w = f32(rng.normal(0, 0.02, (max_len, D)))
        wt = torch.tensor(w, requires_grad=True)
        y = xt + wt[:L]
    else:
        y = xt + tutorial_pe(max_len, D)[:L]
    (y * torch.tensor(g)).sum().backward()
    out.update({"x": flat(x), "g": flat(g), "y": flat(y.detach().numpy()), "dx": flat(xt.grad.numpy())})
    if kind == "learned":
        out.update({"weight": flat(w), "dweight": flat(wt.grad.numpy())})
    return out


def main():
    rng = np.random.default_rng(20261129)
    cases = [
        embedding_case("ids [3, 5], V=7, D=5, repeated ids", np.array([[1, 3, 3, 0, 6], [3, 1, 1, 1, 2], [6, 6, 0, 4, 3]]), 7, 5, None, rng),
        embedding_case("ids [2, 6], V=9, D=8, padding_idx=2", np.array([[2, 5, 2, 8, 0, 5], [7, 2, 2, 1, 5, 0]]), 9, 8, 2, rng),
        embedding_case("ids [4] (one per sample), V=4, D=6, padding_idx=0", np.array([3, 0, 3, 1]), 4, 6, 0, rng),
        embedding_case("ids [1, 3], V=50, D=13", np.array([[49, 0, 17]]), 50, 13, None, rng),
        positional_case("sinusoidal [2, 5, 6], max_len=10", "sinusoidal", 2, 5, 6, 10, rng),
        positional_case("sinusoidal [3, 7, 16], max_len=7", "sinusoidal", 3, 7, 16, 7, rng),
        positional_case("learned [3, 4, 6], max_len=7", "learned", 3, 4, 6, 7, rng),
        positional_case("learned [1, 5, 9], max_len=5", "learned", 1, 5, 9, 5, rng),
    ]
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "embedding", "cases.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as fh:
        json.dump({"generator": "test/golden/gen_embedding.py", "torch": torch.__version__, "cases": cases}, fh)
        fh.write("\n")
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
