"""PyTorch (CPU) reference of fhn-eqprop's layered FHN network and centered EqProp step.

Written independently from the Rust code, from the equations in docs/MODEL.md §5 and
docs/TRAINING.md, for two uses only (never by the test suite or CI):

  check DIR   one training step from DIR/before.safetensors on DIR/batch.safetensors (both
              written by `fhn bench-step --dump DIR`), compared with DIR/after.safetensors
  bench ...   examples/s of the same step on the first MNIST training images

States are batch-major (B × n_l, row = example), the natural PyTorch layout; weights W^l are
n_{l+1} × n_l as in the Rust checkpoints. Supported: kind = "fhn", solver = "euler" | "jacobi",
with or without inhibitor coupling.
"""

import argparse
import gzip
import json
import pathlib
import sys
import time
import tomllib

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file

REPO = pathlib.Path(__file__).resolve().parents[2]


class LayeredFhn:
    """Potential Φ of docs/MODEL.md §5 on a layered graph, and its relaxation."""

    def __init__(self, cfg, weights, biases, dtype):
        m, t = cfg["model"], cfg["training"]
        if m["kind"] != "fhn" or t["solver"] not in ("euler", "jacobi"):
            sys.exit("reference supports kind = fhn with solver euler or jacobi only")
        p = m["fhn"]
        self.du, self.dv, self.eps = p["d_u"], p["d_v"], p["eps"]
        self.alpha, self.beta_v = p["alpha"], p["beta"]
        self.ku = t["dt"] / p["tau_u"]
        self.kv = t["dt"] * p["eps"] / p["tau_v"]
        self.leak = m["leak"]
        self.coupled_v = m["inhibitor_coupling"] and self.eps != 0.0
        self.has_v = self.eps != 0.0
        self.jacobi = t["solver"] == "jacobi"
        self.W = [w.to(dtype).clone() for w in weights]
        self.b = [b.to(dtype).clone() for b in biases]
        self.refresh()

    def refresh(self):
        """Laplacian diagonal per free layer: row sums of W^{l-1} + column sums of W^l."""
        L = len(self.W)
        self.diag = []
        for l in range(1, L + 1):
            d = self.W[l - 1].sum(dim=1)
            if l < L:
                d = d + self.W[l].sum(dim=0)
            self.diag.append(d)

    def coupling(self, s, drive):
        """out_l = W^{l-1} s_{l-1} + W^{lT} s_{l+1} for every free layer (batch-major)."""
        L = len(self.W)
        out = []
        for l in range(1, L + 1):
            c = drive.clone() if l == 1 else s[l - 1] @ self.W[l - 1].T
            if l < L:
                c.addmm_(s[l + 1], self.W[l])
            out.append(c)
        return out

    def forces(self, u, v, drives, nudge):
        """(∂Φ/∂u_l, ∂Φ/∂v_l) for l = 1..L; nudge = (target, β-force) or None."""
        L = len(self.W)
        cu = self.coupling(u, drives[0])
        cv = self.coupling(v, drives[1]) if self.coupled_v else None
        gu, gv = [], []
        for l in range(1, L + 1):
            ul, vl = u[l], v[l]
            g = self.du * (self.diag[l - 1] + self.leak) * ul - self.du * cu[l - 1]
            g -= ul - ul * ul * ul - vl
            g -= self.b[l - 1]
            if nudge is not None and l == L:
                g += nudge[1] * (ul - nudge[0])
            gu.append(g)
            if self.has_v:
                h = ul - self.alpha * vl - self.beta_v
                if self.coupled_v:
                    c = self.dv / self.eps
                    h += c * cv[l - 1] - c * self.diag[l - 1] * vl
                gv.append(h)
        return gu, gv

    def relax(self, u, v, drives, nudge, steps):
        L = len(self.W)
        for _ in range(steps):
            gu, gv = self.forces(u, v, drives, nudge)
            for l in range(1, L + 1):
                if self.jacobi:
                    extra = max(nudge[1], 0.0) if (nudge is not None and l == L) else 0.0
                    base = self.du * (self.diag[l - 1] + self.leak) - 1.0 + extra
                    h = torch.clamp(base + 3.0 * u[l] * u[l], min=0.0)
                    u[l] = u[l] - self.ku * gu[l - 1] / (1.0 + self.ku * h)
                else:
                    u[l] = u[l] - self.ku * gu[l - 1]
                if self.has_v:
                    v[l] = v[l] + self.kv * gv[l - 1]
        # Once per phase, not per step: on a GPU each test is a host synchronisation.
        if not all(torch.isfinite(x).all() for x in u[1:]):
            raise FloatingPointError("relaxation diverged")

    def param_grad(self, u, v, sign, gw, gb):
        """gw[l] += sign ∂Φ/∂W^l (co-content ½ d_u Σ_b (u_j − u_k)², minus the inhibitor term)."""
        L = len(self.W)
        for l in range(L):
            pairs = [(u, 0.5 * self.du)]
            if self.coupled_v:
                pairs.append((v, -0.5 * self.dv / self.eps))
            for s, c in pairs:
                a, b = s[l], s[l + 1]
                sq = (b * b).sum(0)[:, None] + (a * a).sum(0)[None, :]
                gw[l] += (sign * c) * (sq - 2.0 * (b.T @ a))
        for l in range(1, L + 1):
            gb[l - 1] -= sign * u[l].sum(0)


def train_step(net, cfg, x, target, lr_scale=1.0, momentum=None):
    """One centered (or one-sided) EqProp step; returns the free-phase output."""
    t = cfg["training"]
    L = len(net.W)
    B = x.shape[0]
    zeros = [torch.zeros(B, n, dtype=x.dtype) for n in cfg["model"]["widths"]]
    u = [x] + [z.clone() for z in zeros[1:]]
    v = [z.clone() for z in zeros]
    drives = (x @ net.W[0].T, v[0] @ net.W[0].T)
    net.relax(u, v, drives, None, t["free_steps"])
    force = 2.0 * t["cost_scale"] * t["beta"]
    denom = B * t["beta"] * (2.0 if t["centered"] else 1.0)
    gw = [torch.zeros_like(w) for w in net.W]
    gb = [torch.zeros_like(b) for b in net.b]
    phases = [(1.0, force), (-1.0, -force)] if t["centered"] else [(1.0, force)]
    for sign, f in phases:
        up, vp = [a.clone() for a in u], [a.clone() for a in v]
        net.relax(up, vp, drives, (target, f), t["nudge_steps"])
        net.param_grad(up, vp, sign / denom, gw, gb)
    if not t["centered"]:
        net.param_grad(u, v, -1.0 / denom, gw, gb)
    mu = t["momentum"]
    for l in range(L):
        steps = [(net.W, gw, t["lrs"][l], 0), (net.b, gb, t["bias_lr"], 1)]
        for params, grads, lr, k in steps:
            step = -lr * lr_scale * grads[l]
            if momentum is not None:
                step += mu * momentum[k][l]
                momentum[k][l] = step
            params[l] += step
    net.refresh()
    return u[L]


def load_net(path, cfg, dtype):
    ts = load_file(str(path))
    L = len(cfg["model"]["widths"]) - 1
    return LayeredFhn(cfg, [ts[f"w{l}"] for l in range(L)], [ts[f"b{l}"] for l in range(L)], dtype)


def checkpoint_config(path):
    with safe_open(str(path), framework="pt") as f:
        return tomllib.loads(f.metadata()["config"])


def rel(a, b):
    return float((a.double() - b.double()).norm() / b.double().norm().clamp_min(1e-300))


def check(dir_):
    dir_ = pathlib.Path(dir_)
    cfg = checkpoint_config(dir_ / "before.safetensors")
    batch = load_file(str(dir_ / "batch.safetensors"))
    after = load_file(str(dir_ / "after.safetensors"))
    before = load_file(str(dir_ / "before.safetensors"))
    L = len(cfg["model"]["widths"]) - 1
    report = {"dir": str(dir_), "batch": int(batch["x"].shape[0]), "layers": []}
    nets = {}
    for name, dtype in (("f32", torch.float32), ("f64", torch.float64)):
        net = load_net(dir_ / "before.safetensors", cfg, dtype)
        train_step(net, cfg, batch["x"].to(dtype), batch["target"].to(dtype))
        nets[name] = net
    for l in range(L):
        w0, wr = before[f"w{l}"], after[f"w{l}"]
        t32, t64 = nets["f32"].W[l], nets["f64"].W[l]
        report["layers"].append({
            "layer": l,
            "weights_rel_rust_vs_torch32": rel(wr, t32),
            "update_rel_rust_vs_torch32": rel(wr.double() - w0.double(), t32.double() - w0.double()),
            "update_rel_rust_vs_torch64": rel(wr.double() - w0.double(), t64 - w0.double()),
            "update_rel_torch32_vs_torch64": rel(t32.double() - w0.double(), t64 - w0.double()),
            "bias_rel_rust_vs_torch32": rel(after[f"b{l}"], nets["f32"].b[l])
            if float(nets["f32"].b[l].abs().max()) > 0 else 0.0,
        })
    report["max_weights_rel"] = max(r["weights_rel_rust_vs_torch32"] for r in report["layers"])
    report["max_update_rel"] = max(r["update_rel_rust_vs_torch32"] for r in report["layers"])
    report["pass_1e-5"] = report["max_weights_rel"] <= 1e-5
    print(json.dumps(report, indent=1))
    return 0 if report["pass_1e-5"] else 1


def mnist_images(n):
    with gzip.open(REPO / "data/mnist/train-images-idx3-ubyte.gz") as f:
        raw = f.read(16 + 784 * n)
    return np.frombuffer(raw[16:], dtype=np.uint8).reshape(n, 784)


def mnist_labels(n):
    with gzip.open(REPO / "data/mnist/train-labels-idx1-ubyte.gz") as f:
        return np.frombuffer(f.read(8 + n)[8:], dtype=np.uint8)


def bench(a):
    cfg = tomllib.loads(pathlib.Path(a.config).read_text())
    dev = torch.device(a.device)
    torch.set_default_device(dev)
    torch.set_num_threads(a.threads)
    torch.manual_seed(cfg["seed"])
    B, widths = a.batch, cfg["model"]["widths"]
    n = B * a.batches
    x_all = torch.from_numpy(mnist_images(n).astype(np.float32) * (cfg["data"]["input_scale"] / 255.0)).to(dev)
    labels = torch.from_numpy(mnist_labels(n).astype(np.int64)).to(dev)
    t = cfg["training"]
    y_all = torch.full((n, widths[-1]), float(t["target_off"]))
    y_all[torch.arange(n), labels] = float(t["target_on"])
    scale = cfg["init"]["scale"]
    W = []
    for l in range(len(widths) - 1):
        s = scale / (widths[l] ** 0.5) if cfg["init"]["fan_in_scaling"] else scale
        W.append(torch.randn(widths[l + 1], widths[l]) * s)
    net = LayeredFhn(cfg, W, [torch.zeros(k) for k in widths[1:]], torch.float32)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def run(batches):
        sync()
        start = time.perf_counter()
        for k in range(batches):
            sl = slice((k * B) % n, (k * B) % n + B)
            train_step(net, cfg, x_all[sl], y_all[sl])
        sync()
        return time.perf_counter() - start

    with torch.inference_mode():
        run(a.warmup)
        samples = [a.batches * B / run(a.batches) for _ in range(a.reps)]
    out = {"impl": "pytorch", "torch": torch.__version__, "batch": B, "device": a.device,
           "threads": a.threads, "examples_per_second": samples}
    if dev.type == "cuda":
        out["gpu"] = torch.cuda.get_device_name()
        out["tf32_matmul"] = torch.backends.cuda.matmul.allow_tf32
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("dir")
    b = sub.add_parser("bench")
    b.add_argument("--config", required=True, help="TOML as printed by fhn train --print-config")
    b.add_argument("--batch", type=int, default=32)
    b.add_argument("--threads", type=int, default=1)
    b.add_argument("--batches", type=int, default=8)
    b.add_argument("--reps", type=int, default=5)
    b.add_argument("--warmup", type=int, default=2)
    b.add_argument("--device", default="cpu", help="torch device: cpu (default) or cuda")
    a = ap.parse_args()
    if a.cmd == "check":
        with torch.inference_mode():
            sys.exit(check(a.dir))
    bench(a)


if __name__ == "__main__":
    main()
