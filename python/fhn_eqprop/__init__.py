"""fhn-eqprop from Python: diffusive FitzHugh-Nagumo networks, Equilibrium Propagation and an
equilibrium layer, computed by the Rust library (docs/PYTHON.md).

>>> import fhn_eqprop as fe
>>> net = fe.Network.load("examples/ring.toml")
>>> net.check_gradient()["cosine_centered"]  # doctest: +SKIP

Errors are ValueError (bad input), OSError (files), RuntimeError (a computation that failed,
e.g. a solver that did not converge) and KeyboardInterrupt (training stopped by Ctrl-C).
"""
from __future__ import annotations

import json
import os
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np

from . import _native

__all__ = ["Network", "Layered", "preset", "train", "equilibrium", "__version__"]
__version__: str = _native.__version__

PathLike = Union[str, "os.PathLike[str]"]


def _f64(a: Any, name: str, ndim: int) -> np.ndarray:
    arr = np.ascontiguousarray(np.asarray(a, dtype=np.float64))
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {arr.shape}")
    return arr


class Network:
    """An FHN network on two weighted graphs (what a network file holds)."""

    def __init__(self, native: "_native.Network"):
        self._n = native

    @staticmethod
    def load(path: PathLike) -> "Network":
        """Reads a network file (TOML, docs/NETWORK_FILE.md)."""
        return Network(_native.Network.load(os.fspath(path)))

    @staticmethod
    def from_arrays(nodes: int, activator_edges=None, inhibitor_edges=None, currents=None,
                    clamps=None, outputs=None, params: Optional[Dict[str, float]] = None) -> "Network":
        """Builds a network from arrays: edges (E×3: a, b, conductance), currents (one per
        node), clamps (k×3: node, u, v), outputs (m×2: node, target); params as a dict of
        tau_u, tau_v, d_u, d_v, eps, alpha, beta (Table I where not given)."""
        def arr(a, name, cols):
            if a is None:
                return None
            a = np.asarray(a, dtype=np.float64)
            if cols and a.size == 0:
                a = a.reshape(0, cols)
            return _f64(a, name, 2 if cols else 1)
        return Network(_native.Network.from_arrays(
            int(nodes), arr(activator_edges, "activator_edges", 3), arr(inhibitor_edges, "inhibitor_edges", 3),
            arr(currents, "currents", 0), arr(clamps, "clamps", 3), arr(outputs, "outputs", 2),
            None if params is None else {str(k): float(v) for k, v in params.items()}))

    def save(self, path: PathLike) -> None:
        """Writes the network file; `Network.load` reads back the same network."""
        self._n.save(os.fspath(path))

    @property
    def nodes(self) -> int:
        return self._n.nodes

    @property
    def params(self) -> Dict[str, float]:
        return json.loads(self._n.params_json())

    def steady(self, tol: float = 1e-12) -> Dict[str, Any]:
        """Steady state (time stepping, then Newton to ‖∂Φ‖∞ ≤ tol): u, v (arrays), residual,
        whether time stepping settled, whether the state is stable."""
        r = json.loads(self._n.steady_json(tol))
        r["u"], r["v"] = np.asarray(r["u"]), np.asarray(r["v"])
        return r

    def simulate(self, t_end: float, method: str = "dopri", dt: float = 0.1,
                 samples: int = 101) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Time simulation from rest: times (samples,), u and v (samples × nodes)."""
        return self._n.simulate(float(t_end), method, float(dt), int(samples))

    def check_energy(self) -> Dict[str, Any]:
        """`fhn check energy`: Φ's gradient by finite differences, f = Q∇F, the dynamics."""
        return json.loads(self._n.check_energy_json())

    def check_adjoint(self) -> Dict[str, Any]:
        """`fhn check adjoint`: symmetry of the activator response S = ∂u/∂I (paper eq. 9-10)."""
        return json.loads(self._n.check_adjoint_json())

    def check_gradient(self, betas=(1e-1, 1e-2, 1e-3, 1e-4)) -> Dict[str, Any]:
        """`fhn check gradient`: EqProp vs implicit differentiation vs finite differences."""
        return json.loads(self._n.check_gradient_json([float(b) for b in betas]))


def preset(name: str) -> Dict[str, Any]:
    """A training preset (quick, paper, paper-converged, best, deep, hopfield, tiny) as a dict to
    modify and pass to `train` or `Layered.create`."""
    return json.loads(_native.preset(name))


def _config_text(config: Union[str, Dict[str, Any], PathLike]) -> str:
    if isinstance(config, dict):
        return json.dumps(config)
    text = os.fspath(config)
    if text.endswith(".toml"):
        try:
            import tomllib  # Python ≥ 3.11
        except ImportError:  # pragma: no cover
            raise ImportError("a TOML configuration needs Python ≥ 3.11 (tomllib); pass a dict "
                              "(fhn_eqprop.preset(...)) instead") from None
        with open(text, "rb") as f:
            return json.dumps(tomllib.load(f))
    return text  # a preset name


class Layered:
    """A layered FHN (or Hopfield) network with its training configuration: a checkpoint."""

    def __init__(self, native: "_native.Layered"):
        self._n = native

    @staticmethod
    def load(path: PathLike) -> "Layered":
        """Reads a checkpoint written by `fhn train` or `Layered.save`."""
        return Layered(_native.Layered.load(os.fspath(path)))

    @staticmethod
    def create(config: Union[str, Dict[str, Any], PathLike]) -> "Layered":
        """A new network from a configuration (dict, TOML path or preset name), initialised
        with its seed."""
        return Layered(_native.Layered.create(_config_text(config)))

    def save(self, path: PathLike) -> None:
        self._n.save(os.fspath(path))

    @property
    def config(self) -> Dict[str, Any]:
        return json.loads(self._n.config_json())

    @property
    def widths(self) -> List[int]:
        return self._n.widths

    @property
    def epoch(self) -> int:
        return self._n.epoch

    def weights(self) -> List[np.ndarray]:
        return self._n.weights()

    def biases(self) -> List[np.ndarray]:
        return [np.asarray(b, dtype=np.float32) for b in self._n.biases()]

    def set_parameters(self, weights: List[np.ndarray], biases: List[np.ndarray]) -> None:
        self._n.set_parameters([np.ascontiguousarray(w, dtype=np.float32) for w in weights],
                               [[float(x) for x in b] for b in biases])

    def relax(self, x: np.ndarray, steps: Optional[int] = None) -> Tuple[List[np.ndarray], float]:
        """Free phase of a batch x (B × n₀, inputs in model units): activators of every layer
        (B × n_l) and the final residual."""
        return self._n.relax(np.ascontiguousarray(x, dtype=np.float32), steps)

    def eqprop_gradients(self, images: np.ndarray, labels: np.ndarray, threads: int = 1):
        """The trainer's EqProp estimate on a batch of uint8 images (B × pixels) with labels:
        (weight gradients, bias gradients, statistics)."""
        w, b, stats = self._n.eqprop_gradients(np.ascontiguousarray(images, dtype=np.uint8),
                                               np.ascontiguousarray(labels, dtype=np.int64), threads)
        return w, [np.asarray(x, dtype=np.float32) for x in b], json.loads(stats)

    def evaluate(self, split: str = "test", limit: int = 0, threads: int = 1) -> Dict[str, float]:
        """Error, cost and residual on the configuration's test or validation split."""
        return json.loads(self._n.evaluate_json(split, limit, threads))


def train(config: Union[str, Dict[str, Any], PathLike], out: PathLike, resume: bool = False,
          threads: int = 1, callback: Optional[Callable[[Dict[str, Any]], None]] = None,
          quiet: bool = True) -> Dict[str, Any]:
    """Trains like `fhn train` into the run folder `out` (resume: continue it). `callback`
    receives each epoch's metrics (a dict); Ctrl-C stops between batches with the last
    checkpoint intact (KeyboardInterrupt). Returns the run summary."""
    return json.loads(_native.train(_config_text(config), os.fspath(out), resume, threads, callback, quiet))


from . import equilibrium  # noqa: E402  (numpy-level equilibrium layer; torch in fhn_eqprop.torch)
