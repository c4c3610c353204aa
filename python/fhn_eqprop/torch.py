"""`FhnEquilibrium`: the layered FHN network's steady state as a PyTorch autograd Function
whose backward pass is EqProp (or the implicit gradient), and `FhnLayer`, a module holding its
weights. PyTorch is optional: importing this module without it raises ImportError."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch

from . import equilibrium as eq


class FhnEquilibrium(torch.autograd.Function):
    """forward(x, model, method, beta, centered, steps, *params) → outputs of the free
    equilibrium (B × n_L); params are W⁰, …, W^{L−1}, b¹, …, b^L; method "eqprop" or
    "implicit". Computed in float64 on the CPU; outputs and gradients come back in the dtype and
    on the device of the tensor they belong to."""

    @staticmethod
    def forward(ctx, x, model: eq.Model, method: str, beta: float, centered: bool, steps: int, *params):
        n = len(params) // 2
        ws = [p.detach().cpu().double().numpy() for p in params[:n]]
        bs = [p.detach().cpu().double().numpy() for p in params[n:]]
        xn = x.detach().cpu().double().numpy()
        out, states = eq.forward(model, ws, bs, xn, steps=steps)
        ctx.saved = (model, ws, bs, xn, states, method, beta, centered)
        ctx.like = [x, *params]
        return torch.from_numpy(out).to(dtype=x.dtype, device=x.device)

    @staticmethod
    def backward(ctx, grad_out):
        model, ws, bs, xn, states, method, beta, centered = ctx.saved
        g = grad_out.detach().cpu().double().numpy()
        dx, dw, db = eq.vjp(model, ws, bs, xn, states, g, method=method, beta=beta, centered=centered)
        grads = [torch.from_numpy(np.ascontiguousarray(a)).to(dtype=t.dtype, device=t.device)
                 for a, t in zip([dx, *dw, *db], ctx.like)]
        return (grads[0], None, None, None, None, None, *grads[1:])


class FhnLayer(torch.nn.Module):
    """A layered FHN network (widths input first) as a module: its weights are parameters, its
    forward pass the free equilibrium, its backward pass EqProp (centered, `beta`) or
    `method="implicit"`."""

    def __init__(self, widths: Sequence[int], leak: float = 2.0, method: str = "eqprop",
                 beta: float = 1e-3, centered: bool = True, steps: int = 200,
                 generator: Optional[torch.Generator] = None, dtype=torch.float64):
        super().__init__()
        self.model = eq.Model(widths=list(widths), leak=leak)
        self.method, self.beta, self.centered, self.steps = method, beta, centered, steps
        self.weights = torch.nn.ParameterList(
            torch.nn.Parameter(torch.randn(o, i, generator=generator, dtype=dtype) / i ** 0.5)
            for i, o in zip(widths[:-1], widths[1:]))
        self.biases = torch.nn.ParameterList(
            torch.nn.Parameter(torch.zeros(o, dtype=dtype)) for o in widths[1:])

    def forward(self, x):
        return FhnEquilibrium.apply(x, self.model, self.method, self.beta, self.centered, self.steps,
                                    *self.weights, *self.biases)
