import numpy as np
import pytest

from nncz.grid import RedshiftGrid


def test_default_grid_is_the_methods():
    grid = RedshiftGrid()
    assert grid.n_bins == 400 and grid.edges[0] == 0 and grid.edges[-1] == 2
    assert grid.width == pytest.approx(0.005)
    np.testing.assert_allclose(grid.centres[:2], [0.0025, 0.0075])
    assert len(grid.edges) == 401 and len(grid.centres) == 400


def test_configurable_range():
    grid = RedshiftGrid(0.0, 3.0, 300)
    assert grid.width == pytest.approx(0.01)
    assert grid.bin_index(np.array([0.0, 0.0099, 0.01, 2.999, 3.5]))[:4].tolist() == [0, 0, 1, 299]


def test_rebin_is_exact_and_conserves_probability():
    rng = np.random.default_rng(1)
    grid = RedshiftGrid()
    pdf = rng.random((5, 400))
    pdf /= pdf.sum(1, keepdims=True)
    coarse, coarse_grid = grid.rebin(pdf, 40)
    assert coarse.shape == (5, 40) and coarse_grid.width == pytest.approx(0.05)
    np.testing.assert_allclose(coarse.sum(1), 1.0)
    np.testing.assert_allclose(coarse[:, 3], pdf[:, 30:40].sum(1))


def test_rebin_rejects_non_divisor():
    with pytest.raises(ValueError, match="divisor"):
        RedshiftGrid().rebin(np.ones((1, 400)) / 400, 37)


@pytest.mark.parametrize("args", [(1.0, 1.0, 10), (0.0, 2.0, 1), (0.0, np.nan, 10)])
def test_invalid_grids(args):
    with pytest.raises(ValueError):
        RedshiftGrid(*args)


def test_round_trip_dict():
    grid = RedshiftGrid(0.1, 1.7, 160)
    assert RedshiftGrid.from_dict(grid.to_dict()) == grid
