"""A small PyTorch model with an FHN equilibrium layer inside, trained on MNIST with Adam:
a linear read-in 784 → 64, the FHN layer (64-32-10, Table I physics, leak 2) whose backward pass
is centered EqProp, and the layer's output activators as logits. Needs PyTorch.

    python python/examples/mnist_fhn_layer.py [--train 5000 --epochs 3 --out results/python/mnist_fhn_layer.json]

Reads the bundled MNIST (data/mnist/*.gz) from the repository root."""
import argparse
import gzip
import json
import time
from pathlib import Path

import numpy as np
import torch

from fhn_eqprop.torch import FhnLayer


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--train", type=int, default=5000)
    p.add_argument("--test", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--beta", type=float, default=1e-2)
    p.add_argument("--out", default=None)
    a = p.parse_args()
    torch.manual_seed(0)
    d = Path("data/mnist")
    xtr = torch.from_numpy(idx(d / "train-images-idx3-ubyte.gz")[: a.train].reshape(-1, 784) / 255.0)
    ytr = torch.from_numpy(idx(d / "train-labels-idx1-ubyte.gz")[: a.train].astype(np.int64))
    xte = torch.from_numpy(idx(d / "t10k-images-idx3-ubyte.gz")[: a.test].reshape(-1, 784) / 255.0)
    yte = torch.from_numpy(idx(d / "t10k-labels-idx1-ubyte.gz")[: a.test].astype(np.int64))
    model = torch.nn.Sequential(torch.nn.Linear(784, 64, dtype=torch.float64),
                                FhnLayer([64, 32, 10], beta=a.beta))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    history = []
    t0 = time.time()
    for epoch in range(1, a.epochs + 1):
        perm = torch.randperm(a.train)
        total, wrong = 0.0, 0
        for i in range(0, a.train, a.batch):
            j = perm[i: i + a.batch]
            opt.zero_grad()
            out = model(xtr[j])
            loss = torch.nn.functional.cross_entropy(out * 10, ytr[j])
            loss.backward()
            opt.step()
            total += loss.item() * len(j)
            wrong += (out.argmax(1) != ytr[j]).sum().item()
        with torch.no_grad():
            test_err = (model(xte).argmax(1) != yte).double().mean().item()
        row = {"epoch": epoch, "train_loss": total / a.train, "train_error": wrong / a.train,
               "test_error": test_err, "seconds": time.time() - t0}
        history.append(row)
        print(json.dumps(row))
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps({"args": vars(a), "epochs": history}, indent=2) + "\n")


if __name__ == "__main__":
    main()
