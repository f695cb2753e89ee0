import numpy as np
import pytest
from scipy import stats

from nncz.grid import RedshiftGrid
from nncz.metrics import binned_metrics, crps, evaluate, pit, pit_ks, point_metrics, stacked_nz


def test_point_metrics_on_a_hand_worked_example():
    z_spec = np.array([0.0, 0.0, 0.0, 0.0, 1.0])
    # dz = 0.01, -0.02, 0.03, 0.5 (outlier), 0.1 (= 0.2 / 2)
    z_phot = np.array([0.01, -0.02, 0.03, 0.5, 1.2])
    m = point_metrics(z_phot, z_spec)
    inliers = np.array([0.01, -0.02, 0.03, 0.1])
    assert m["n"] == 5
    assert m["eta"] == pytest.approx(20.0)
    assert m["bias"] == pytest.approx(inliers.mean())
    assert m["sigma"] == pytest.approx(inliers.std())
    # all dz: median 0.03; |dz - 0.03| = 0.02, 0.05, 0, 0.47, 0.07 -> median 0.05
    assert m["sigma_nmad"] == pytest.approx(1.4826 * 0.05)


def test_outlier_boundary_is_strict():
    m = point_metrics(np.array([0.15 + 1e-9, 0.15 - 1e-9]), np.array([0.0, 0.0]))
    assert m["eta"] == pytest.approx(50.0)


def test_crps_of_a_delta_pdf_is_distance():
    grid = RedshiftGrid(0.0, 2.0, 400)
    pdf = np.zeros((1, 400))
    pdf[0, 100] = 1.0  # bin [0.5, 0.505), centre 0.5025
    # CDF is 1 from bin 100 on (upper edge 0.505); the step is 1 from the bin holding 0.8
    # (bin 160, [0.8, 0.805)) -> squared difference 1 on bins 100..159
    value = crps(pdf, grid, np.array([0.8]))[0]
    assert value == pytest.approx(60 * grid.width)


def test_crps_agrees_with_independent_implementations():
    properscoring = pytest.importorskip("properscoring")
    grid = RedshiftGrid()
    mu, sigma = 0.7, 0.05
    pdf = np.diff(stats.norm.cdf(grid.edges, mu, sigma))[None, :]
    for z_true in (0.62, 0.7, 0.78, 1.1):
        ours = crps(pdf, grid, np.array([z_true]))[0]
        analytic = properscoring.crps_gaussian(z_true, mu, sigma)
        # the binned form places the step at bin centres: it differs from the continuous
        # integral by at most half a bin width
        assert abs(ours - analytic) <= grid.width / 2 + 1e-6
    fine = RedshiftGrid(0.0, 2.0, 4000)
    pdf_fine = np.diff(stats.norm.cdf(fine.edges, mu, sigma))[None, :]
    ours = crps(pdf_fine, fine, np.array([0.78]))[0]
    assert ours == pytest.approx(properscoring.crps_gaussian(0.78, mu, sigma), abs=fine.width / 2)


def test_crps_matches_direct_numerical_integration():
    rng = np.random.default_rng(0)
    grid = RedshiftGrid(0.0, 2.0, 100)
    pdf = rng.random((1, 100)) ** 4
    pdf /= pdf.sum()
    z_true = 0.8123
    # continuous definition, integrating the piecewise-linear CDF on a fine mesh
    z = np.linspace(0, 2, 200001)
    cdf = np.interp(z, grid.edges, np.concatenate([[0], np.cumsum(pdf[0])]))
    direct = np.trapezoid((cdf - (z >= z_true)) ** 2, z)
    assert crps(pdf, grid, np.array([z_true]))[0] == pytest.approx(direct, abs=grid.width / 2)


def test_pit_of_calibrated_gaussians_is_uniform():
    rng = np.random.default_rng(2)
    grid = RedshiftGrid()
    mu = rng.uniform(0.3, 1.5, 3000)
    z_true = mu + 0.05 * rng.standard_normal(3000)
    pdf = np.diff(stats.norm.cdf(grid.edges[None, :], mu[:, None], 0.05), axis=1)
    assert pit_ks(pit(pdf, grid, z_true)) < 0.03
    # too narrow PDFs give a U-shaped PIT and a large KS distance
    narrow = np.diff(stats.norm.cdf(grid.edges[None, :], mu[:, None], 0.015), axis=1)
    assert pit_ks(pit(narrow, grid, z_true)) > 0.2


def test_stacked_nz_integrates_to_one_and_tracks_truth():
    grid = RedshiftGrid()
    z = np.random.default_rng(0).uniform(0.2, 0.8, 5000)
    pdf = np.diff(stats.norm.cdf(grid.edges[None, :], z[:, None], 0.01), axis=1)
    nz = stacked_nz(pdf, grid, z)
    assert (nz.nz_phot * grid.width).sum() == pytest.approx(1.0, abs=1e-6)
    assert (nz.nz_true * grid.width).sum() == pytest.approx(1.0)
    assert np.abs(nz.nz_phot - nz.nz_true).mean() < 0.1


def test_binned_metrics_by_number_and_label():
    z_spec = np.array([0.1, 0.2, 0.8, 0.9])
    z_phot = np.array([0.1, 0.9, 0.8, 0.91])
    table = binned_metrics(z_phot, z_spec, z_spec, np.array([0.0, 0.5, 1.0]))
    assert table.n.tolist() == [2, 2]
    assert table.eta.tolist() == [50.0, 0.0]
    labels = binned_metrics(z_phot, z_spec, np.array(["BGS", "ELG", "BGS", "ELG"]))
    assert dict(zip(labels.bin, labels.eta, strict=True)) == {"BGS": 0.0, "ELG": 50.0}


def test_evaluate_includes_pdf_scores():
    grid = RedshiftGrid()
    z = np.array([0.5, 0.6, 0.7])
    pdf = np.diff(stats.norm.cdf(grid.edges[None, :], z[:, None], 0.02), axis=1)
    result = evaluate(z, z, pdf, grid)
    assert {"crps", "pit_ks", "pit_cvm", "sigma_nmad", "eta"} <= set(result)
