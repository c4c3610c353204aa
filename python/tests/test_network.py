"""Network files from Python: the same physics and checks as the `fhn` command."""
import json
import os
import subprocess

import numpy as np
import pytest

import fhn_eqprop as fe


def test_steady_state_is_stable_and_a_root(root):
    net = fe.Network.load("examples/ring.toml")
    s = net.steady(tol=1e-12)
    assert net.nodes == 12 and s["u"].shape == (12,)
    assert s["residual"] <= 1e-12 and s["stable"] is True and s["time_stepping_converged"]
    assert s["u"][0] == pytest.approx(0.6)  # the clamp


def test_check_gradient_reproduces_the_command_line(root):
    py = fe.Network.load("examples/ring.toml").check_gradient()
    assert py["slope_centered"] == pytest.approx(2.0, abs=0.05)
    assert py["slope_one_sided"] == pytest.approx(1.0, abs=0.05)
    assert py["fd_vs_implicit"] < 1e-8
    fhn = root / "target" / "release" / "fhn"
    if not fhn.exists():
        pytest.skip("target/release/fhn not built (cargo build --release)")
    cli = json.loads(subprocess.run([str(fhn), "check", "gradient", "examples/ring.toml", "--json"],
                                    check=True, capture_output=True, text=True).stdout)
    for key in ["parameters", "loss", "slope_one_sided", "slope_centered"]:
        assert py[key] == pytest.approx(cli[key], rel=1e-12), key


def test_adjoint_and_energy_checks():
    net = fe.Network.load("examples/ring.toml")
    a = net.check_adjoint()
    assert a["asymmetry_closed_form"] < 1e-12
    e = net.check_energy()
    assert e["gradient_error"] < 1e-6 and e["reaction_error"] < 1e-6


def test_arrays_file_round_trip(tmp_path):
    net = fe.Network.from_arrays(
        4, activator_edges=[[0, 1, 1.0], [1, 2, 0.5], [2, 3, -0.1]], inhibitor_edges=[[0, 1, 1.0]],
        currents=[0, 0.1, 0, -0.05], clamps=[[0, 0.4, 0.0]], outputs=[[3, 0.2]], params={"eps": 0.9})
    assert net.params["eps"] == 0.9 and net.params["alpha"] == 1.08
    net.save(tmp_path / "n.toml")
    back = fe.Network.load(tmp_path / "n.toml")
    np.testing.assert_array_equal(back.steady()["u"], net.steady()["u"])


def test_simulation_settles_on_the_steady_state():
    net = fe.Network.load("examples/ring.toml")
    t, u, v = net.simulate(200.0, samples=11)
    assert t.shape == (11,) and u.shape == (11, 12) and v.shape == (11, 12)
    np.testing.assert_allclose(u[-1], net.steady()["u"], atol=1e-5)
    te, ue, _ = net.simulate(20.0, method="euler", dt=0.05, samples=3)
    _, ud, _ = net.simulate(20.0, samples=3)
    np.testing.assert_allclose(ue[-1], ud[-1], atol=1e-2)


def test_oscillator_is_reported_unstable():
    s = fe.Network.load("examples/oscillator.toml").steady()
    assert s["stable"] is False and not s["time_stepping_converged"]
