import numpy as np
import pytest
import torch

from nncz.grid import RedshiftGrid
from nncz.losses import bin_nll, crps_binned, huber
from nncz.metrics import crps


def test_torch_crps_equals_numpy_crps_and_has_gradients():
    grid = RedshiftGrid()
    rng = np.random.default_rng(0)
    logits = torch.tensor(rng.normal(size=(7, 400)), requires_grad=True)
    z = torch.tensor(rng.uniform(0, 2, 7))
    loss = crps_binned(logits, z, torch.tensor(grid.edges[1:]), grid.width)
    pdf = torch.softmax(logits, 1).detach().numpy()
    # nncz.metrics works on float32 PDFs (as predicted): agreement to float32 rounding
    assert float(loss) == pytest.approx(crps(pdf, grid, z.numpy()).mean(), rel=1e-5)
    loss.backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0


def test_crps_is_minimised_by_the_true_bin():
    grid = RedshiftGrid(0, 1, 10)
    edges = torch.tensor(grid.edges[1:])
    z = torch.tensor([0.43])
    losses = []
    for k in range(10):
        logits = torch.full((1, 10), -30.0)
        logits[0, k] = 30.0
        losses.append(float(crps_binned(logits, z, edges, grid.width)))
    assert int(np.argmin(losses)) == 4


def test_bin_nll_and_huber():
    logits = torch.log(torch.tensor([[0.25, 0.5, 0.25]]))
    assert float(bin_nll(logits, torch.tensor([1]))) == pytest.approx(np.log(2))
    assert float(huber(torch.tensor([0.0, 3.0]), torch.tensor([0.5, 0.0]), delta=1.0)) == \
        pytest.approx((0.5 * 0.25 + (3 - 0.5)) / 2)


def test_crps_nll_adds_the_true_bin_nll():
    from nncz.losses import crps_nll_binned

    grid = RedshiftGrid(0, 1, 10)
    edges = torch.tensor(grid.edges[1:])
    rng = np.random.default_rng(1)
    logits = torch.tensor(rng.normal(size=(5, 10)))
    z = torch.tensor([0.0, 0.05, 0.43, 0.999, 1.0])            # edges and the last bin
    expected = crps_binned(logits, z, edges, grid.width) + 0.1 * bin_nll(
        logits, torch.as_tensor(grid.bin_index(z.numpy())))
    assert float(crps_nll_binned(logits, z, edges, grid.width, 0.1)) == pytest.approx(
        float(expected))
    assert float(crps_nll_binned(logits, z, edges, grid.width, 0.0)) == pytest.approx(
        float(crps_binned(logits, z, edges, grid.width)))


def test_nll_term_revives_a_dead_bin():
    # A bin at -30 gets a CRPS gradient ~ its probability (e-30), the NLL term gives it ~ -1.
    from nncz.losses import crps_nll_binned

    grid = RedshiftGrid(0, 1, 10)
    edges = torch.tensor(grid.edges[1:])
    logits = torch.zeros((1, 10))
    logits[0, 2] = -30.0
    logits.requires_grad_(True)
    z = torch.tensor([0.25])                                   # in the dead bin 2
    crps_binned(logits, z, edges, grid.width).backward()
    assert abs(float(logits.grad[0, 2])) < 1e-12
    logits.grad = None
    crps_nll_binned(logits, z, edges, grid.width, 1e-3).backward()
    assert float(logits.grad[0, 2]) < -0.9e-3
