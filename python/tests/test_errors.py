"""Bad input from Python: an exception with the library's message, never a crash."""
import numpy as np
import pytest

import fhn_eqprop as fe
from conftest import tiny_config


@pytest.mark.parametrize("call,exc,match", [
    (lambda: fe.Network.load("no/such/file.toml"), OSError, "no/such/file.toml"),
    (lambda: fe.Network.from_arrays(0), ValueError, "no nodes"),
    (lambda: fe.Network.from_arrays(3, [[0, 5, 1.0]]), ValueError, "outside"),
    (lambda: fe.Network.from_arrays(3, [[0, 1, np.nan]]), ValueError, "finite"),
    (lambda: fe.Network.from_arrays(3, [[0, 1.5, 1.0]]), ValueError, "integer"),
    (lambda: fe.Network.from_arrays(3, [[0, 1]]), ValueError, "3 columns"),
    (lambda: fe.Network.from_arrays(3, currents=[1.0]), ValueError, "3 nodes"),
    (lambda: fe.Network.from_arrays(3, params={"eps": -1.0}), ValueError, "eps"),
    (lambda: fe.Network.from_arrays(3, params={"gamma": 1.0}), ValueError, "gamma"),
    (lambda: fe.Network.load("examples/ring.toml").steady(tol=-1), ValueError, "tol"),
    (lambda: fe.Network.load("examples/ring.toml").simulate(-1.0), ValueError, "t_end"),
    (lambda: fe.Network.load("examples/ring.toml").simulate(1.0, method="rk4"), ValueError, "rk4"),
    (lambda: fe.Network.load("examples/ring.toml").check_gradient(betas=[0.0]), ValueError, "betas"),
    (lambda: fe.preset("huge"), ValueError, "huge"),
    (lambda: fe.Layered.load("missing.safetensors"), OSError, "missing"),
    (lambda: fe.Layered.create({"name": "x"}), ValueError, "configuration"),
    (lambda: fe.Layered.create(tiny_config(lrs=[-1.0, 0.1])), ValueError, "negative"),
])
def test_bad_input_raises(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_bad_arrays_for_a_layered_network():
    m = fe.Layered.create(tiny_config())
    with pytest.raises(ValueError, match="784"):
        m.relax(np.zeros((2, 5), dtype=np.float32))
    with pytest.raises(ValueError, match="finite"):
        m.relax(np.full((1, 784), np.inf, dtype=np.float32))
    with pytest.raises(ValueError, match="label"):
        m.eqprop_gradients(np.zeros((2, 784), dtype=np.uint8), np.array([3, 12]))
    with pytest.raises(ValueError, match="shapes"):
        m.set_parameters([np.zeros((2, 2), dtype=np.float32)], [[0.0]])
    with pytest.raises(ValueError, match="split"):
        m.evaluate("train")


def test_an_existing_run_is_not_overwritten(tmp_path):
    fe.train(tiny_config(epochs=1), tmp_path / "run")
    with pytest.raises(ValueError, match="already holds a run"):
        fe.train(tiny_config(epochs=1), tmp_path / "run")
