"""The layered FHN network as a differentiable function, in numpy (the torch layer in
`fhn_eqprop.torch` is built on it): `forward` gives the free equilibrium's outputs, `vjp` the
vector-Jacobian product by EqProp or implicit differentiation, computed in float64 by Rust."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import _native


@dataclass
class Model:
    """Architecture and physics of the layer: widths (input first), FHN parameters (Table I by
    default), leak conductance, inhibitor coupling."""

    widths: Sequence[int]
    leak: float = 2.0
    inhibitor_coupling: bool = False
    fhn: Dict[str, float] = field(default_factory=lambda: dict(
        tau_u=1.0, tau_v=1.0, d_u=0.5625, d_v=1.0, eps=0.85, alpha=1.08, beta=0.0))

    def to_json(self) -> str:
        return json.dumps(dict(widths=list(map(int, self.widths)), kind="fhn", fhn=self.fhn,
                               inhibitor_coupling=self.inhibitor_coupling, leak=float(self.leak)))


def _params(weights, biases):
    return ([np.ascontiguousarray(w, dtype=np.float64) for w in weights],
            [np.ascontiguousarray(b, dtype=np.float64) for b in biases])


def forward(model: Model, weights: List[np.ndarray], biases: List[np.ndarray], x: np.ndarray,
            dt: float = 0.5, steps: int = 200, tol: float = 1e-10) -> Tuple[np.ndarray, Any]:
    """Outputs (B × n_L) of the free equilibria for inputs x (B × n₀), and the equilibria to
    pass to `vjp`."""
    w, b = _params(weights, biases)
    return _native.equilibrium_forward(model.to_json(), w, b, np.ascontiguousarray(x, dtype=np.float64), dt, steps, tol)


def vjp(model: Model, weights, biases, x, equilibria, grad_out, method: str = "eqprop",
        beta: float = 1e-3, centered: bool = True):
    """Gradients of Σ grad_out ⊙ outputs: (dx (B × n₀), [dW^l], [db^l]). method "eqprop"
    (nudge beta, centered ±β or one-sided) or "implicit" (exact)."""
    w, b = _params(weights, biases)
    dx, dw, db = _native.equilibrium_vjp(model.to_json(), w, b, np.ascontiguousarray(x, dtype=np.float64), equilibria,
                                         np.ascontiguousarray(grad_out, dtype=np.float64), method, float(beta), bool(centered))
    return dx, dw, [np.asarray(v) for v in db]
