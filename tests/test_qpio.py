"""Tests of nncz.qpio: exact hist round trip through qp ensembles, and any ensemble on a grid."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

qp = pytest.importorskip("qp")

from nncz import qpio  # noqa: E402
from nncz.grid import RedshiftGrid  # noqa: E402


def _random_pdfs(n_rows: int, grid: RedshiftGrid, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pdf = rng.random((n_rows, grid.n_bins)) ** 4  # peaked, with a unique maximum per row
    return pdf / pdf.sum(axis=1, keepdims=True)


def test_to_qp_from_qp_round_trip_is_exact():
    grid = RedshiftGrid(0.0, 3.0, 300)
    pdf = _random_pdfs(40, grid)
    ids = np.arange(40) + 1000
    ensemble = qpio.to_qp(pdf, grid, ancil={"object_id": ids})
    assert ensemble.gen_class.name == "hist" and ensemble.npdf == 40
    back, back_grid = qpio.from_qp(ensemble)
    assert back_grid == grid
    np.testing.assert_allclose(back, pdf, rtol=0, atol=1e-12)
    # Ancillary point estimates, computed here independently of nncz.pdf.
    np.testing.assert_allclose(ensemble.ancil["z_phot_mean"], pdf @ grid.centres, atol=1e-6)
    np.testing.assert_allclose(
        ensemble.ancil["z_phot_mode"], grid.centres[np.argmax(pdf, axis=1)], atol=1e-6
    )
    np.testing.assert_array_equal(ensemble.ancil["object_id"], ids)


def test_qp_sees_the_same_distribution():
    grid = RedshiftGrid(0.0, 2.0, 400)
    pdf = _random_pdfs(10, grid, seed=1)
    ensemble = qpio.to_qp(pdf, grid)
    # Uniform density within each bin: the CDF at the edges is the cumulative sum ...
    cdf = ensemble.cdf(grid.edges)
    np.testing.assert_allclose(cdf[:, 1:], np.cumsum(pdf, axis=1), atol=1e-12)
    # ... and halfway through a bin it has gained half that bin's probability.
    halfway = ensemble.cdf(grid.centres[[7]])[:, 0]
    np.testing.assert_allclose(halfway, pdf[:, :7].sum(axis=1) + 0.5 * pdf[:, 7], atol=1e-12)


def test_coarse_hist_on_fine_grid_is_exact_and_keeps_its_mode():
    coarse = RedshiftGrid(0.0, 3.0, 300)
    fine = RedshiftGrid(0.0, 3.0, 3000)
    pdf = _random_pdfs(25, coarse, seed=2)
    fine_pdf, kept = qpio.bin_probabilities(qpio.to_qp(pdf, coarse), fine, chunk_rows=7)
    np.testing.assert_allclose(kept, 1.0, atol=1e-12)
    # Each coarse bin splits into ten equal fine bins.
    np.testing.assert_allclose(
        fine_pdf[:, 40:50], np.repeat(pdf[:, [4]] / 10, 10, axis=1), atol=1e-12
    )
    summed, _ = fine.rebin(fine_pdf, 300)
    np.testing.assert_allclose(summed, pdf, atol=1e-12)
    # The mode of the flat-topped fine PDF is the coarse bin centre, not its first sub-bin.
    np.testing.assert_allclose(
        qpio.plateau_mode(fine_pdf, fine), coarse.centres[np.argmax(pdf, axis=1)], atol=1e-9
    )


def test_gaussian_ensemble_on_grid_matches_scipy_and_reports_lost_mass():
    grid = RedshiftGrid(0.0, 1.0, 200)
    loc = np.array([0.05, 0.5, 0.9])
    scale = np.array([0.05, 0.1, 0.2])
    ensemble = qp.Ensemble(qp.stats.norm, data={"loc": loc[:, None], "scale": scale[:, None]})
    pdf, kept = qpio.bin_probabilities(ensemble, grid)
    cdf = stats.norm.cdf(grid.edges[None, :], loc[:, None], scale[:, None])
    expected_kept = cdf[:, -1] - cdf[:, 0]
    np.testing.assert_allclose(kept, expected_kept, atol=1e-9)
    assert kept[0] < 0.9 and kept[1] > 0.999  # half a sigma-width lost below z = 0
    np.testing.assert_allclose(pdf, np.diff(cdf, axis=1) / expected_kept[:, None], atol=1e-9)
    modes = qpio.point_estimates(pdf, grid)["z_phot_mode"]
    np.testing.assert_allclose(modes[1:], loc[1:], atol=grid.width)


def test_from_qp_needs_a_grid_for_non_hist():
    ensemble = qp.Ensemble(
        qp.stats.norm, data={"loc": np.array([[0.3]]), "scale": np.array([[0.1]])}
    )
    with pytest.raises(ValueError, match="not 'hist'"):
        qpio.from_qp(ensemble)
    pdf, grid = qpio.from_qp(ensemble, RedshiftGrid(0.0, 1.0, 100))
    assert pdf.shape == (1, 100) and grid.n_bins == 100


def test_clear_errors(tmp_path):
    grid = RedshiftGrid(0.0, 1.0, 10)
    with pytest.raises(ValueError, match=r"shape \(N, 10\)"):
        qpio.to_qp(np.ones((3, 11)), grid)
    with pytest.raises(ValueError, match="rows \\[1\\]"):
        qpio.to_qp(np.vstack([np.ones(10), np.zeros(10)]), grid)
    with pytest.raises(FileNotFoundError, match="missing.hdf5"):
        qpio.read_qp(tmp_path / "missing.hdf5")
    not_qp = tmp_path / "junk.hdf5"
    not_qp.write_bytes(b"not an hdf5 file")
    with pytest.raises(ValueError, match="junk.hdf5"):
        qpio.read_qp(not_qp)
