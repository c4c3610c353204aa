import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture(autouse=True)
def at_root(monkeypatch):
    """Tests run from the repository root (the bundled MNIST and the examples)."""
    monkeypatch.chdir(ROOT)


def tiny_config(**training):
    import fhn_eqprop as fe
    cfg = fe.preset("tiny")
    cfg["data"]["train_limit"] = 500
    cfg["data"]["eval_limit"] = 200
    cfg["data"]["validation"] = 200
    cfg["training"].update(training)
    return cfg
