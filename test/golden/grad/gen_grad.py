# Generates the PyTorch autograd / torch.optim golden vectors in test/golden/grad/*.json for the autodiff
# tests. Neighbours: test/autodiff-golden.test.ts reads them; compiler/autodiff/* and ir/ops/{grad-*,loss,optim}.ts.
#
# Run from the repository root:  /usr/bin/python3 test/golden/grad/gen_grad.py   (torch >= 1.13, numpy)
# Deterministic: each case seeds its own generator from a CRC of its name. Everything is float64.
#
# ops.json / losses.json: { "cases": [ { "name", "inputs": {name: T}, "steps": [ { "op", "attrs" (modelc IR
#   attrs), "inputs": [input names; omitted = the previous step's output], "params": {suffix: T} } ],
#   "loss": { "op", "attrs" }, "target": T, "target_dtype": "f32" | "i32",
#   "expect": { "loss": T, "grads": {name: T}, "state": {name: T} } } ] }
#   Param names are "s<step>.<suffix>"; grads are keyed by input name or param name; "state" holds the
#   running statistics after a training-mode batchnorm step.
# optim.json: { "cases": [ { "name", "op", "attrs", "lr", "param": T, "grads": [T, T, T],
#   "expect": [ { "param": T, "state": [T...] } per step ] } ], "clip": [ { "max_norm", "grads": [T], "norm", "clipped": [T] } ] }
# T = { "shape": [int], "dtype": "f64", "data": base64 of little-endian float64 }

import base64
import json
import os
import warnings
import zlib

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
F64 = torch.float64
warnings.filterwarnings("ignore", message=".*reduction: 'mean' divides the total loss.*")


def enc(t):
    a = t.detach().cpu().numpy().astype("<f8")
    return {"shape": list(a.shape), "dtype": "f64", "data": base64.b64encode(a.tobytes()).decode("ascii")}


def gen(name):
    g = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    return lambda *shape, lo=-1.0, hi=1.0: (torch.rand(*shape, generator=g, dtype=F64) * (hi - lo) + lo)


# ---------------------------------------------------------------------------------------------
# Forward of one modelc op in PyTorch (training mode), from modelc IR attrs.


def torch_op(op, a, xs, ps):
    x = xs[0]
    if op == "relu":
        return F.relu(x)
    if op == "leaky_relu":
        return F.leaky_relu(x, a["alpha"])
    if op == "sigmoid":
        return torch.sigmoid(x)
    if op == "tanh":
        return torch.tanh(x)
    if op == "gelu":
        return F.gelu(x, approximate=a["approximate"])
    if op == "softmax":
        return F.softmax(x, dim=a["axis"])
    if op == "add":
        return xs[0] + xs[1]
    if op == "mul":
        return xs[0] * xs[1]
    if op == "dense":
        return F.linear(x, ps["weight"], ps.get("bias"))
    if op == "conv2d":
        t, l, b, r = a["padding"]
        assert t == b and l == r
        return F.conv2d(x, ps["weight"], ps.get("bias"), a["stride"], (t, l), a["dilation"], a["groups"])
    if op == "maxpool2d":
        return F.max_pool2d(x, a["kernel"], a["stride"], a["padding"][:2], a["dilation"], a["ceil_mode"])
    if op == "avgpool2d":
        return F.avg_pool2d(x, a["kernel"], a["stride"], a["padding"][:2], a["ceil_mode"], a["count_include_pad"])
    if op == "global_avgpool2d":
        return F.adaptive_avg_pool2d(x, 1)
    if op == "flatten":
        return torch.flatten(x, a["start_dim"])
    if op == "reshape":
        return x.reshape(x.shape[0], *a["shape"])
    if op == "concat":
        return torch.cat(xs, a["axis"])
    if op == "batchnorm":
        return F.batch_norm(x, ps["running_mean"], ps["running_var"], ps["weight"], ps["bias"], True, a["momentum"], a["eps"])
    if op == "layernorm":
        return F.layer_norm(x, (x.shape[-1],), ps["weight"], ps["bias"], a["eps"])
    if op == "transpose":
        return torch.transpose(x, a["dim0"], a["dim1"])
    if op == "mean":
        return torch.mean(x, a["axis"], keepdim=a["keepdim"])
    if op == "gated_sum":
        g = torch.sigmoid(F.linear(torch.cat([xs[0], xs[1]], -1), ps["gate.weight"], ps["gate.bias"]))
        return g * xs[0] + (1 - g) * xs[1]
    raise ValueError(op)


def torch_loss(op, a, y, t):
    red = a["reduction"]
    if op == "mse":
        return F.mse_loss(y, t, reduction=red)
    if op == "cross_entropy":
        return F.cross_entropy(y, t, reduction=red, label_smoothing=a["label_smoothing"])
    if op == "binary_cross_entropy":
        return F.binary_cross_entropy_with_logits(y, t, reduction=red)
    if op == "kl_divergence":
        return F.kl_div(y, t, reduction=red, log_target=a["log_target"])
    raise ValueError(op)


STATE = ("running_mean", "running_var")


def run_case(c):
    """Fill a case's expectations from PyTorch; c has inputs/steps/loss/target already (tensors)."""
    leaves = {}
    for k, v in c["inputs"].items():
        leaves[k] = v.clone().requires_grad_(True)
    cur = None
    state = {}
    for i, s in enumerate(c["steps"]):
        ps = {}
        for suf, v in s["params"].items():
            name = f"s{i}.{suf}"
            if suf in STATE:
                ps[suf] = v.clone()
                state[name] = ps[suf]
            else:
                ps[suf] = leaves[name] = v.clone().requires_grad_(True)
        xs = [leaves[n] for n in s.get("inputs", [])] or [cur if cur is not None else leaves["x"]]
        cur = torch_op(s["op"], s["attrs"], xs, ps)
    if callable(c["target"]):
        c["target"] = c["target"](cur.shape)
    loss = torch_loss(c["loss"]["op"], c["loss"]["attrs"], cur, c["target"])
    loss.backward()
    out = {
        "name": c["name"],
        "inputs": {k: enc(v) for k, v in c["inputs"].items()},
        "steps": [
            {k: v for k, v in s.items() if k != "params"} | {"params": {suf: enc(v) for suf, v in s["params"].items()}}
            for s in c["steps"]
        ],
        "loss": c["loss"],
        "target": enc(c["target"]),
        "target_dtype": "i32" if c["target"].dtype == torch.int64 else "f32",
        "expect": {
            "loss": enc(loss.reshape(1)),
            "grads": {k: enc(v.grad) for k, v in leaves.items()},
            "state": {k: enc(v) for k, v in state.items()},
        },
    }
    return out


MSE = {"op": "mse", "attrs": {"reduction": "sum"}}


def single(name, op, attrs, xshape, out_shape, params=None, lo=-2.0, hi=2.0, x=None, batch=2, extra=None):
    rnd = gen(name)
    inputs = {"x": x if x is not None else rnd(batch, *xshape, lo=lo, hi=hi)}
    step = {"op": op, "attrs": attrs, "params": {}}
    if extra:
        for k, shp in extra.items():
            inputs[k] = rnd(batch, *shp, lo=lo, hi=hi)
        step["inputs"] = ["x", *extra.keys()]
    for suf, shp in (params or {}).items():
        step["params"][suf] = rnd(*shp, lo=0.5, hi=1.5) if suf == "running_var" else rnd(*shp)
    return {"name": name, "inputs": inputs, "steps": [step], "loss": MSE, "target": lambda shape: rnd(*shape, lo=-1, hi=1)}


def conv_attrs(k, s=1, p=0, d=1, g=1, bias=True, o=2):
    return {"out_channels": o, "kernel": [k, k], "stride": [s, s], "padding": [p, p, p, p], "dilation": [d, d], "groups": g, "bias": bias}


def op_cases():
    cs = []
    x0 = torch.tensor([[-1.5, 0.0, 2.0, 0.0, -0.25, 3.0]], dtype=F64).repeat(2, 1)
    cs.append(single("relu_with_zeros", "relu", {}, [6], [6], x=x0))
    cs.append(single("leaky_relu", "leaky_relu", {"alpha": 0.2}, [3, 4], [3, 4]))
    cs.append(single("sigmoid", "sigmoid", {}, [3, 4], [3, 4], lo=-6, hi=6))
    cs.append(single("tanh", "tanh", {}, [3, 4], [3, 4], lo=-3, hi=3))
    cs.append(single("gelu_none", "gelu", {"approximate": "none"}, [3, 4], [3, 4], lo=-4, hi=4))
    cs.append(single("gelu_tanh", "gelu", {"approximate": "tanh"}, [3, 4], [3, 4], lo=-4, hi=4))
    cs.append(single("softmax_axis1", "softmax", {"axis": 1}, [4, 3], [4, 3], lo=-3, hi=3))
    cs.append(single("add_bcast", "add", {}, [3, 4, 5], [3, 4, 5], extra={"b": [3, 1, 1]}))
    cs.append(single("mul_bcast_both", "mul", {}, [3, 1, 5], [3, 4, 5], extra={"b": [1, 4, 1]}))
    cs.append(single("dense", "dense", {"units": 3, "bias": True}, [5], [3], {"weight": [3, 5], "bias": [3]}, batch=3))
    cs.append(single("dense_rank3_nobias", "dense", {"units": 4, "bias": False}, [2, 5], [2, 4], {"weight": [4, 5]}))
    cs.append(single("conv_3x3", "conv2d", conv_attrs(3, o=3), [2, 5, 5], [3, 3, 3], {"weight": [3, 2, 3, 3], "bias": [3]}))
    cs.append(single("conv_s2_p1_d2", "conv2d", conv_attrs(3, s=2, p=1, d=2), [2, 7, 7], [2, 3, 3], {"weight": [2, 2, 3, 3], "bias": [2]}))
    cs.append(single("conv_groups2", "conv2d", conv_attrs(2, g=2, o=4, bias=False), [4, 4, 4], [4, 3, 3], {"weight": [4, 2, 2, 2]}))
    cs.append(single("conv_depthwise_s2", "conv2d", conv_attrs(3, s=2, p=1, g=3, o=3), [3, 6, 6], [3, 3, 3], {"weight": [3, 1, 3, 3], "bias": [3]}))
    pool = lambda k, s, p, ceil, **kw: {"kernel": [k, k], "stride": [s, s], "padding": [p, p, p, p], "ceil_mode": ceil, **kw}
    cs.append(single("maxpool_2", "maxpool2d", pool(2, 2, 0, False, dilation=[1, 1]), [2, 4, 4], [2, 2, 2]))
    # integer-valued inputs: many ties inside windows -> PyTorch routes to the first maximum
    ties = torch.randint(0, 3, (2, 2, 5, 5), generator=torch.Generator().manual_seed(3)).to(F64)
    cs.append(single("maxpool_ties_overlap", "maxpool2d", pool(3, 2, 1, True, dilation=[1, 1]), [2, 5, 5], [2, 3, 3], x=ties))
    cs.append(single("maxpool_dilation2", "maxpool2d", pool(2, 1, 0, False, dilation=[2, 2]), [1, 6, 6], [1, 4, 4]))
    cs.append(single("avgpool_ceil_nopad", "avgpool2d", pool(2, 2, 1, True, count_include_pad=False), [2, 5, 5], [2, 3, 3]))
    cs.append(single("avgpool_ceil_pad", "avgpool2d", pool(3, 2, 1, True, count_include_pad=True), [1, 6, 6], [1, 3, 3]))
    cs.append(single("global_avgpool", "global_avgpool2d", {}, [3, 4, 5], [3, 1, 1]))
    cs.append(single("flatten", "flatten", {"start_dim": 1}, [2, 3, 2], [12]))
    cs.append(single("reshape", "reshape", {"shape": [3, 4]}, [6, 2], [3, 4]))
    cs.append(single("concat_axis3", "concat", {"axis": 3}, [2, 3, 2], [2, 3, 5], extra={"b": [2, 3, 3]}))
    bn = {"eps": 1e-5, "momentum": 0.1}
    bnp = {"weight": [3], "bias": [3], "running_mean": [3], "running_var": [3]}
    cs.append(single("batchnorm_train_4d", "batchnorm", bn, [3, 2, 2], [3, 2, 2], bnp, batch=3))
    cs.append(single("batchnorm_train_2d", "batchnorm", {"eps": 1e-3, "momentum": 0.3}, [3], [3], bnp, batch=4))
    lnp = lambda d: {"weight": [d], "bias": [d]}
    cs.append(single("layernorm_2d", "layernorm", {"eps": 1e-5}, [7], [7], lnp(7), batch=3))
    cs.append(single("layernorm_3d", "layernorm", {"eps": 1e-3}, [4, 33], [4, 33], lnp(33), batch=3))
    xo = (1e4 + gen("layernorm_offset_x")(2, 33)).float().double()  # f32-representable: the wasm run rounds inputs
    xo[1, :] = 3.25
    cs.append(single("layernorm_offset_and_constant_rows", "layernorm", {"eps": 1e-5}, [33], [33], lnp(33), x=xo))
    cs.append(single("transpose_1_2", "transpose", {"dim0": 1, "dim1": 2}, [5, 6], [6, 5], batch=3))
    cs.append(single("transpose_1_3_inner", "transpose", {"dim0": 1, "dim1": 3}, [3, 2, 4, 5], [4, 2, 3, 5]))
    cs.append(single("mean_axis1", "mean", {"axis": 1, "keepdim": False}, [7, 5], [5], batch=3))
    cs.append(single("mean_last_keepdim", "mean", {"axis": 2, "keepdim": True}, [3, 6], [3, 1]))
    gsp = lambda d: {"gate.weight": [d, 2 * d], "gate.bias": [d]}
    cs.append(single("gated_sum", "gated_sum", {}, [6], [6], gsp(6), batch=3, extra={"b": [6]}))
    cs.append(single("gated_sum_rank3", "gated_sum", {}, [2, 5], [2, 5], gsp(5), extra={"b": [2, 5]}))
    # a small CNN: conv -> batchnorm -> relu -> maxpool -> flatten -> dense, cross-entropy
    rnd = gen("cnn_chain")
    cs.append({
        "name": "cnn_chain",
        "inputs": {"x": rnd(3, 1, 6, 6, lo=-2, hi=2)},
        "steps": [
            {"op": "conv2d", "attrs": conv_attrs(3, p=1, o=2), "params": {"weight": rnd(2, 1, 3, 3), "bias": rnd(2)}},
            {"op": "batchnorm", "attrs": bn, "params": {"weight": rnd(2), "bias": rnd(2), "running_mean": rnd(2), "running_var": rnd(2, lo=0.5, hi=1.5)}},
            {"op": "relu", "attrs": {}, "params": {}},
            {"op": "maxpool2d", "attrs": pool(2, 2, 0, False, dilation=[1, 1]), "params": {}},
            {"op": "flatten", "attrs": {"start_dim": 1}, "params": {}},
            {"op": "dense", "attrs": {"units": 4, "bias": True}, "params": {"weight": rnd(4, 18), "bias": rnd(4)}},
        ],
        "loss": {"op": "cross_entropy", "attrs": {"reduction": "mean", "label_smoothing": 0.0}},
        "target": torch.tensor([3, 0, 2]),
    })
    return cs


def loss_cases():
    cs = []

    def lc(name, op, attrs, x, t):
        return {"name": name, "inputs": {"x": x}, "steps": [{"op": "flatten", "attrs": {"start_dim": 1}, "params": {}}],
                "loss": {"op": op, "attrs": attrs}, "target": t}

    r = gen("losses")
    x = r(4, 5, lo=-3, hi=3)
    cs.append(lc("mse_mean", "mse", {"reduction": "mean"}, x, r(4, 5)))
    cs.append(lc("mse_sum", "mse", {"reduction": "sum"}, x, r(4, 5)))
    idx = torch.tensor([0, 4, 2, 2])
    for red in ("mean", "sum"):
        for ls in (0.0, 0.1):
            cs.append(lc(f"ce_index_{red}_ls{ls}", "cross_entropy", {"reduction": red, "label_smoothing": ls}, x, idx))
    p = F.softmax(r(4, 5, lo=-2, hi=2), dim=1)
    cs.append(lc("ce_probs_ls0.2", "cross_entropy", {"reduction": "mean", "label_smoothing": 0.2}, x, p))
    big = torch.tensor([[90.0, -90.0, 0.0], [-90.0, -90.0, 90.0], [90.0, 89.5, -90.0]], dtype=F64)
    cs.append(lc("ce_logits_pm90", "cross_entropy", {"reduction": "sum", "label_smoothing": 0.0}, big, torch.tensor([1, 2, 0])))
    y01 = r(4, 5, lo=0, hi=1)
    cs.append(lc("bce_mean", "binary_cross_entropy", {"reduction": "mean"}, x, y01))
    xb = torch.tensor([[100.0, -100.0, 100.0, -100.0, 0.0]], dtype=F64)
    cs.append(lc("bce_pm100_sum", "binary_cross_entropy", {"reduction": "sum"}, xb, torch.tensor([[1.0, 1.0, 0.0, 0.0, 0.5]], dtype=F64)))
    lp = F.log_softmax(r(4, 5, lo=-2, hi=2), dim=1)
    tz = p.clone()
    tz[0, 1] = 0.0
    tz[2, :3] = 0.0
    for red in ("mean", "sum", "batchmean"):
        cs.append(lc(f"kl_{red}_zeros", "kl_divergence", {"reduction": red, "log_target": False}, lp, tz))
    cs.append(lc("kl_log_target", "kl_divergence", {"reduction": "batchmean", "log_target": True}, lp, F.log_softmax(r(4, 5), dim=1)))
    return cs


def optim_cases():
    out = []
    specs = [
        ("sgd", "sgd_update", {"weight_decay": 0.0}, lambda p: torch.optim.SGD([p], lr=0.1)),
        ("sgd_wd", "sgd_update", {"weight_decay": 0.05}, lambda p: torch.optim.SGD([p], lr=0.1, weight_decay=0.05)),
        ("momentum", "momentum_update", {"momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False},
         lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9)),
        ("momentum_damp_wd", "momentum_update", {"momentum": 0.8, "dampening": 0.3, "weight_decay": 0.01, "nesterov": False},
         lambda p: torch.optim.SGD([p], lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01)),
        ("nesterov", "momentum_update", {"momentum": 0.9, "dampening": 0.0, "weight_decay": 0.02, "nesterov": True},
         lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.02)),
        ("adam", "adam_update", {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0},
         lambda p: torch.optim.Adam([p], lr=0.01)),
        ("adam_wd", "adam_update", {"beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0.1},
         lambda p: torch.optim.Adam([p], lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
        ("adamw", "adamw_update", {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.01},
         lambda p: torch.optim.AdamW([p], lr=0.01)),
        ("adamw_wd", "adamw_update", {"beta1": 0.85, "beta2": 0.95, "eps": 1e-7, "weight_decay": 0.3},
         lambda p: torch.optim.AdamW([p], lr=0.03, betas=(0.85, 0.95), eps=1e-7, weight_decay=0.3)),
    ]
    for name, op, attrs, make in specs:
        r = gen("optim_" + name)
        p = r(3, 4).requires_grad_(True)
        p0 = p.detach().clone()
        grads = [r(3, 4) for _ in range(3)]
        opt = make(p)
        lr = opt.param_groups[0]["lr"]
        exp = []
        for g in grads:
            p.grad = g.clone()
            opt.step()
            st = opt.state[p]
            state = []
            if st.get("momentum_buffer") is not None:
                state.append(enc(st["momentum_buffer"]))
            if "exp_avg" in st:
                state += [enc(st["exp_avg"]), enc(st["exp_avg_sq"])]
            exp.append({"param": enc(p), "state": state})
        out.append({"name": name, "op": op, "attrs": attrs, "lr": lr, "param": enc(p0), "grads": [enc(g) for g in grads], "expect": exp})
    clip = []
    for name, max_norm in (("clip_active", 1.0), ("clip_inactive", 100.0)):
        r = gen(name)
        ps = [torch.zeros(3, 4, dtype=F64, requires_grad=True), torch.zeros(5, dtype=F64, requires_grad=True)]
        gs = [r(3, 4, lo=-2, hi=2), r(5, lo=-2, hi=2)]
        for p, g in zip(ps, gs):
            p.grad = g.clone()
        norm = torch.nn.utils.clip_grad_norm_(ps, max_norm)
        clip.append({"name": name, "max_norm": max_norm, "grads": [enc(g) for g in gs], "norm": enc(norm.reshape(1)),
                     "clipped": [enc(p.grad) for p in ps]})
    return {"cases": out, "clip": clip}


def write(fname, obj):
    obj = {"generator": "test/golden/grad/gen_grad.py", "torch": torch.__version__, **obj}
    path = os.path.join(HERE, fname)
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")
    print(f"{fname}: {os.path.getsize(path)} bytes")


def main():
    torch.use_deterministic_algorithms(True)
    write("ops.json", {"cases": [run_case(c) for c in op_cases()]})
    write("losses.json", {"cases": [run_case(c) for c in loss_cases()]})
    write("optim.json", optim_cases())


if __name__ == "__main__":
    main()
