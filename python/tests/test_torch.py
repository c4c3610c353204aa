"""FhnEquilibrium in PyTorch (skipped where PyTorch is not installed)."""
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch)")

from fhn_eqprop.torch import FhnEquilibrium, FhnLayer  # noqa: E402


@pytest.mark.parametrize("method", ["implicit", "eqprop"])
def test_gradients_match_finite_differences(method):
    gen = torch.Generator().manual_seed(0)
    layer = FhnLayer([6, 5, 3], method=method, beta=1e-4, generator=gen)
    x = torch.randn(2, 6, dtype=torch.float64, generator=gen, requires_grad=True)
    params = [p.detach().clone().requires_grad_(True) for p in layer.parameters()]

    def f(x, *params):
        return FhnEquilibrium.apply(x, layer.model, method, 1e-4, True, 200, *params)

    assert torch.autograd.gradcheck(f, (x, *params), eps=1e-6, atol=1e-5, rtol=1e-4)


def test_a_small_model_learns():
    gen = torch.Generator().manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(8, 6, dtype=torch.float64), FhnLayer([6, 5, 3], generator=gen))
    x = torch.randn(32, 8, dtype=torch.float64, generator=gen)
    y = torch.randint(0, 3, (32,), generator=gen)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x) * 5, y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]
