# Training-speed engine for PyTorch CPU (`python3 engines/torch_engine.py CONFIG_JSON`), speaking bench/lib.js's line
# protocol. Neighbours: bench/train.js spawns it; scripts/pytorch_mnist.py defines the models (same as the .model files).
import json
import os
import sys
import time

PREFIX = "@@bench "


def send(msg):
    sys.stdout.write(PREFIX + json.dumps(msg) + "\n")
    sys.stdout.flush()


def blas_library():
    """Which BLAS this process has loaded (torch's matmuls for nn.Linear go through it): from /proc/self/maps."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
    except OSError:
        return "unknown"
    names = sorted(os.path.realpath(p) for p in paths)
    if any("openblas" in p for p in names):
        return "OpenBLAS"
    if any("mkl" in p for p in names):
        return "MKL"
    if any(p.endswith("/blas/libblas.so.3") or "libblas.so.3" in p for p in names):
        return "netlib reference"
    return os.path.basename(names[0]) if names else "none loaded"


def setup(config):
    """Model, Adam and the batches of the first `samples` digits; returns (info, step)."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
    from pytorch_mnist import build_model

    torch.set_num_threads(config.get("threads", 1))
    torch.manual_seed(config["seed"])
    batch, samples = config["batch"], config["samples"]
    images = torch.from_numpy(np.fromfile(os.path.join(config["data"], "images.f32"), dtype="<f4").reshape(-1, 1, 28, 28))
    labels = torch.from_numpy(np.fromfile(os.path.join(config["data"], "labels.i32"), dtype="<i4").astype(np.int64))
    batches = [(images[s:s + batch].contiguous(), labels[s:s + batch].contiguous()) for s in range(0, samples - batch + 1, batch)]
    model = build_model(config["model"])
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=config["lr"], betas=(0.9, 0.999), eps=1e-8)
    counter = [0]

    def step():
        x, y = batches[counter[0] % len(batches)]
        counter[0] += 1
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    step()  # loads the BLAS library (first matmul), so blas_library() can see it; the parent warms up anyway
    backend = "cpu, oneDNN" if torch.backends.mkldnn.is_available() else "cpu"
    info = {"version": torch.__version__, "backend": f"{backend}, BLAS {blas_library()}", "threads": torch.get_num_threads()}
    return info, step, batch


def main():
    config = json.loads(sys.argv[1])
    try:
        info, step, batch = setup(config)
    except Exception as e:  # report, e.g. "No module named 'torch'", and exit cleanly
        send({"error": f"{type(e).__name__}: {e}"})
        return
    send({"ready": True, "info": info})
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        if cmd["cmd"] == "quit":
            break
        try:
            loss = float("nan")
            c0, t0 = time.process_time(), time.perf_counter()
            for _ in range(cmd["steps"]):
                loss = step()
            seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
            send({"seconds": seconds, "cpuSeconds": cpu, "samples": cmd["steps"] * batch, "loss": loss})
        except Exception as e:
            send({"error": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    main()
