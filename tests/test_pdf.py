import numpy as np
import pytest
from scipy import stats

from nncz.grid import RedshiftGrid
from nncz.pdf import PRODUCT_COLUMNS, pdf_products, quantile, sample_pdf


def gaussian_pdf(grid, mean, sigma):
    return np.diff(stats.norm.cdf(grid.edges, mean, sigma))[None, :]


def test_products_of_a_gaussian_match_analytic_values():
    grid = RedshiftGrid()
    mean, sigma = 0.8, 0.05
    products = pdf_products(gaussian_pdf(grid, mean, sigma), grid).iloc[0]
    columns = pdf_products(gaussian_pdf(grid, mean, sigma), grid).columns
    assert list(columns) == list(PRODUCT_COLUMNS)
    assert products.z_phot_mean == pytest.approx(mean, abs=1e-4)
    assert products.z_phot_median == pytest.approx(mean, abs=1e-4)
    assert abs(products.z_phot_mode - mean) <= grid.width
    # std of the binned distribution: sqrt(sigma^2 + width^2 / 12) (Sheppard's correction).
    assert products.z_phot_std == pytest.approx(np.sqrt(sigma**2 + grid.width**2 / 12), rel=1e-3)
    assert products.z_phot_l68 == pytest.approx(mean - sigma, abs=5e-4)
    assert products.z_phot_u68 == pytest.approx(mean + sigma, abs=5e-4)
    assert products.z_phot_l95 == pytest.approx(mean - 2 * sigma, abs=5e-4)
    assert products.z_phot_u95 == pytest.approx(mean + 2 * sigma, abs=5e-4)
    half = 0.03 * (1 + mean)
    expected_conf = stats.norm.cdf(half / sigma) - stats.norm.cdf(-half / sigma)
    assert products.z_conf == pytest.approx(expected_conf, abs=2e-3)


def test_products_of_a_bimodal_pdf():
    grid = RedshiftGrid()
    pdf = 0.7 * gaussian_pdf(grid, 0.3, 0.02) + 0.3 * gaussian_pdf(grid, 1.2, 0.02)
    products = pdf_products(pdf, grid).iloc[0]
    assert products.z_phot_mean == pytest.approx(0.7 * 0.3 + 0.3 * 1.2, abs=1e-3)
    assert products.z_phot_mode == pytest.approx(0.3, abs=grid.width)
    assert products.z_phot_median < 0.4  # 70% of the mass sits in the low peak
    assert products.z_phot_u95 > 1.1  # the high peak is inside the 95% interval
    # the mean falls between the peaks where there is no probability: zConf ~ 0
    assert products.z_conf < 1e-3


def test_uniform_pdf_quantiles_are_linear():
    grid = RedshiftGrid(0.0, 1.0, 10)
    pdf = np.full((1, 10), 0.1)
    for q in (0.05, 0.25, 0.5, 0.93):
        assert quantile(pdf, grid, q)[0] == pytest.approx(q)


def test_samples_follow_the_pdf():
    grid = RedshiftGrid()
    pdf = gaussian_pdf(grid, 0.5, 0.1)
    samples = sample_pdf(pdf, grid, 20000, seed=3)[0]
    assert samples.mean() == pytest.approx(0.5, abs=0.005)
    assert samples.std() == pytest.approx(0.1, rel=0.03)
    assert stats.kstest(samples, stats.norm(0.5, 0.1).cdf).pvalue > 0.001


def test_products_of_non_finite_rows_do_not_crash():
    grid = RedshiftGrid(0, 1, 10)
    pdf = np.vstack([np.full(10, 0.1), np.full(10, np.nan)])
    products = pdf_products(pdf, grid)
    assert products.z_phot_median.iloc[0] == pytest.approx(0.5)
    assert len(products) == 2
