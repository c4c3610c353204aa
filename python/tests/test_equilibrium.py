"""The equilibrium layer in numpy: its backward pass against finite differences of its forward."""
import numpy as np
import pytest

from fhn_eqprop import equilibrium as eq


def setup(seed=1):
    rng = np.random.default_rng(seed)
    model = eq.Model(widths=[6, 5, 3])
    ws = [rng.normal(size=(5, 6)) / 6 ** 0.5, rng.normal(size=(3, 5)) / 5 ** 0.5]
    bs = [rng.normal(size=5) * 0.1, np.zeros(3)]
    x = rng.normal(size=(2, 6)) * 0.5
    g = rng.normal(size=(2, 3))
    return model, ws, bs, x, g


def loss(model, ws, bs, x, g):
    return float(np.sum(g * eq.forward(model, ws, bs, x, tol=1e-13)[0]))


@pytest.mark.parametrize("method,tol", [("implicit", 1e-6), ("eqprop", 1e-5)])
def test_vjp_matches_finite_differences(method, tol):
    model, ws, bs, x, g = setup()
    out, st = eq.forward(model, ws, bs, x, tol=1e-13)
    assert out.shape == (2, 3)
    dx, dw, db = eq.vjp(model, ws, bs, x, st, g, method=method, beta=1e-4)
    h = 1e-6
    for name, arr, grad, idx in [("x", x, dx, (1, 2)), ("W0", ws[0], dw[0], (3, 4)),
                                 ("W1", ws[1], dw[1], (2, 0)), ("b0", bs[0], db[0], (1,))]:
        old = arr[idx]
        arr[idx] = old + h
        up = loss(model, ws, bs, x, g)
        arr[idx] = old - h
        down = loss(model, ws, bs, x, g)
        arr[idx] = old
        fd = (up - down) / (2 * h)
        assert grad[idx] == pytest.approx(fd, rel=tol, abs=tol), name


def test_bad_inputs_are_value_errors():
    model, ws, bs, x, g = setup()
    with pytest.raises(ValueError):
        eq.forward(model, ws, bs, x[:, :4])
    out, st = eq.forward(model, ws, bs, x)
    with pytest.raises(ValueError):
        eq.vjp(model, ws, bs, x, st, g, method="backprop")
    with pytest.raises(ValueError):
        eq.vjp(model, ws, bs, x, st, g, beta=0.0)
