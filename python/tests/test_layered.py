"""Layered networks and training from Python."""
import numpy as np
import pytest

import fhn_eqprop as fe
from conftest import tiny_config


def batch(n=16, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 784), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n)
    return images, labels


def test_create_relax_and_checkpoint_round_trip(tmp_path):
    m = fe.Layered.create(tiny_config())
    assert m.widths == [784, 32, 10] and m.epoch == 0
    w = m.weights()
    assert [a.shape for a in w] == [(32, 784), (10, 32)] and w[0].dtype == np.float32
    images, _ = batch(4)
    x = images.astype(np.float32) * m.config["data"]["input_scale"] / 255.0
    layers, residual = m.relax(x)
    assert [a.shape for a in layers] == [(4, 784), (4, 32), (4, 10)]
    np.testing.assert_array_equal(layers[0], x)
    assert np.isfinite(residual) and residual < 1.0
    m.save(tmp_path / "m.safetensors")
    back = fe.Layered.load(tmp_path / "m.safetensors")
    for a, b in zip(back.weights(), w):
        np.testing.assert_array_equal(a, b)
    assert back.config == m.config


def test_an_eqprop_step_lowers_the_cost_and_a_flipped_one_raises_it():
    m = fe.Layered.create(tiny_config(lrs=[0.2, 0.05]))
    images, labels = batch(32)
    gw, gb, stats = m.eqprop_gradients(images, labels)
    assert [g.shape for g in gw] == [(32, 784), (10, 32)] and stats["residual"] < 1.0
    w0, b0 = m.weights(), m.biases()

    def cost_after(sign):
        m.set_parameters([w - sign * 0.01 * g for w, g in zip(w0, gw)],
                         [b - sign * 0.01 * g for b, g in zip(b0, gb)])
        return m.eqprop_gradients(images, labels)[2]["cost"]

    before = stats["cost"]
    assert cost_after(+1) < before < cost_after(-1)


def test_training_calls_back_each_epoch_and_evaluates(tmp_path):
    seen = []
    summary = fe.train(tiny_config(epochs=2), tmp_path / "run", callback=seen.append)
    assert [m["epoch"] for m in seen] == [1, 2]
    assert summary["epochs"] == 2 and 0.0 <= summary["best_val_error"] < 0.9
    m = fe.Layered.load(tmp_path / "run" / "best.safetensors")
    e = m.evaluate("val", limit=200)
    assert e["error"] == pytest.approx(summary["best_val_error"], abs=1e-12)


def test_a_callback_that_raises_stops_training_with_its_error(tmp_path):
    def boom(metrics):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        fe.train(tiny_config(epochs=3), tmp_path / "run", callback=boom)
    assert (tmp_path / "run" / "checkpoint.safetensors").exists()
    summary = fe.train(tiny_config(epochs=2), tmp_path / "run", resume=True)
    assert summary["epochs"] == 2


@pytest.fixture
def ctrl_c():
    """Python's own Ctrl-C handler, also where SIGINT is ignored (a job started in the background
    inherits SIG_IGN, and Python then leaves it so)."""
    import signal

    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


def test_ctrl_c_stops_between_batches_and_the_run_resumes(tmp_path, ctrl_c):
    import os
    import signal
    import threading

    epochs = []
    # Ctrl-C from outside, while Rust trains (the callback only records epochs).
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        fe.train(tiny_config(epochs=200), tmp_path / "run", callback=lambda m: epochs.append(m["epoch"]))
    timer.join()
    assert len(epochs) < 200
    ckpt = tmp_path / "run" / "checkpoint.safetensors"
    if ckpt.exists():  # the last finished epoch's checkpoint is intact and the run resumes from it
        # (Ctrl-C may land after an epoch's checkpoint, before its callback: then one ahead.)
        saved = fe.Layered.load(ckpt).epoch
        assert saved in (epochs[-1] if epochs else 0, (epochs[-1] if epochs else 0) + 1)
        done = fe.train(tiny_config(epochs=saved + 1), tmp_path / "run", resume=True)
        assert done["epochs"] == saved + 1


def test_a_callback_interrupt_also_stops_training(tmp_path, ctrl_c):
    import os
    import signal

    with pytest.raises(KeyboardInterrupt):
        fe.train(tiny_config(epochs=3), tmp_path / "run", callback=lambda m: os.kill(os.getpid(), signal.SIGINT))
    assert fe.Layered.load(tmp_path / "run" / "checkpoint.safetensors").epoch == 1
