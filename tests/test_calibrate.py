import numpy as np
import pytest
import torch

from nncz.calibrate import apply_temperature, fit_temperature


@pytest.mark.parametrize("true_t", [0.5, 1.0, 2.5])
def test_temperature_fit_recovers_a_known_temperature(true_t):
    rng = np.random.default_rng(0)
    base = rng.normal(scale=3.0, size=(20000, 30))
    # labels drawn from softmax(base / true_t): the logits `base` are miscalibrated by true_t
    probabilities = apply_temperature(base, true_t).astype(np.float64)
    cumulative = probabilities.cumsum(1)
    labels = (rng.random((20000, 1)) > cumulative).sum(1).clip(0, 29)
    assert fit_temperature(base, labels) == pytest.approx(true_t, rel=0.05)


def test_apply_temperature_rows_sum_to_one_and_flatten():
    logits = np.array([[0.0, 1.0, 5.0]])
    sharp, flat = apply_temperature(logits, 0.5), apply_temperature(logits, 10.0)
    np.testing.assert_allclose(sharp.sum(), 1.0, rtol=1e-6)
    assert sharp.max() > apply_temperature(logits, 1.0).max() > flat.max()


def test_bad_input():
    with pytest.raises(ValueError):
        fit_temperature(np.zeros((0, 3)), np.zeros(0, dtype=int))


def test_crps_temperature_recovers_a_known_temperature():
    from nncz.calibrate import fit_temperature_crps
    from nncz.grid import RedshiftGrid

    grid = RedshiftGrid(0, 2, 200)
    rng = np.random.default_rng(1)
    mu = rng.uniform(0.4, 1.6, 3000)
    z_true = mu + 0.05 * rng.standard_normal(3000)
    # Gaussian log-density logits: dividing them by T widens sigma by sqrt(T).
    true_t = 2.0
    logits = -0.5 * ((grid.centres[None, :] - mu[:, None]) / 0.05) ** 2 * true_t
    assert fit_temperature_crps(logits, z_true, grid.centres, grid.width) == pytest.approx(
        true_t, rel=0.1)


def test_floor_bounds_the_cost_of_outliers():
    logits = np.zeros((2, 10))
    logits[:, 0] = 50.0  # all mass in bin 0
    labels = np.array([0, 9])  # the second object is a catastrophic outlier
    # without a floor the outlier pushes T to the upper bound; with one it does not
    assert fit_temperature(logits, labels) > fit_temperature(logits, labels, floor=0.01)


def test_pit_map_makes_too_wide_pdfs_calibrated():
    from nncz.calibrate import fit_pit_map
    from nncz.grid import RedshiftGrid
    from nncz.metrics import pit, pit_ks

    grid = RedshiftGrid(0.0, 3.0, 600)
    rng = np.random.default_rng(1)

    def draw(n):  # true z ~ N(mu, 0.05), PDFs N(mu, 0.1): twice too wide, humped PIT
        mu = rng.uniform(0.5, 2.5, n)
        z = mu + rng.normal(0.0, 0.05, n)
        pdf = np.exp(-0.5 * ((grid.centres[None, :] - mu[:, None]) / 0.1) ** 2)
        return pdf / pdf.sum(1, keepdims=True), z

    pdf_val, z_val = draw(4000)
    pdf_test, z_test = draw(4000)
    knots = fit_pit_map(pit(pdf_val, grid, z_val), n_knots=10)
    corrected = apply_pit(pdf_test, knots)
    np.testing.assert_allclose(corrected.sum(1), 1.0, atol=1e-6)
    assert np.all(corrected >= 0)
    before, after = pit_ks(pit(pdf_test, grid, z_test)), pit_ks(pit(corrected, grid, z_test))
    assert before > 0.1 and after < 0.035


def test_pit_map_of_uniform_pits_is_near_identity_and_checks_input():
    from nncz.calibrate import fit_pit_map

    x, y = fit_pit_map(np.random.default_rng(2).random(20000), n_knots=10)
    np.testing.assert_allclose(x, y, atol=0.02)
    assert x[0] == 0.0 and x[-1] == 1.0
    pdf = np.full((3, 5), 0.2)
    np.testing.assert_allclose(apply_pit(pdf, (y, y)), pdf, atol=1e-6)
    with pytest.raises(ValueError):
        fit_pit_map(np.array([0.5, 1.5, 0.2]), n_knots=2)


def test_pit_map_with_tied_pits_stays_a_valid_pdf():
    from nncz.calibrate import fit_pit_map

    pits = np.concatenate([np.zeros(300), np.ones(300), np.random.default_rng(3).random(400)])
    knots = fit_pit_map(pits, n_knots=10)
    pdf = np.random.default_rng(4).random((50, 40))
    pdf /= pdf.sum(1, keepdims=True)
    corrected = apply_pit(pdf, knots)
    assert np.all(corrected >= 0) and np.all(np.isfinite(corrected))
    np.testing.assert_allclose(corrected.sum(1), 1.0, atol=1e-6)


def apply_pit(pdf: np.ndarray, knots) -> np.ndarray:
    """The PIT map with ``knots`` applied as every prediction path applies it."""
    from nncz.calibrate import apply_pit_map, pit_map_table

    return apply_pit_map(torch.as_tensor(pdf, dtype=torch.float32), pit_map_table(knots))[0].numpy()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pchip_equals_scipys_and_the_table_is_within_float32_of_it(seed):
    """The map is scipy's PCHIP (without importing scipy at prediction), and the tabulated
    map that prediction reads is within 3e-7 of it, the precision of a float32 CDF."""
    from scipy.interpolate import PchipInterpolator

    from nncz.calibrate import fit_pit_map, pchip_values, pit_map_table

    rng = np.random.default_rng(seed)
    x, y = fit_pit_map(rng.beta(0.7 + seed, 1.3, size=3000), n_knots=10)
    u = np.concatenate([rng.random(5000), x, [0.0, 1.0]])
    np.testing.assert_allclose(pchip_values(x, y, u), PchipInterpolator(x, y)(u), atol=1e-14)
    values, steps = pit_map_table((x, y)).view(torch.float32).view(-1, 2).numpy().T
    at = rng.random(5000)
    position = at * (len(values) - 1)
    step = position.astype(int)
    tabulated = values[step] + (position - step) * steps[step]
    np.testing.assert_allclose(tabulated, PchipInterpolator(x, y)(at), atol=1e-7)


def test_pit_map_gives_nan_rows_for_rows_without_probability():
    from nncz.calibrate import fit_pit_map

    knots = fit_pit_map(np.random.default_rng(5).beta(2, 2, size=1000), n_knots=10)
    pdf = np.full((4, 10), 0.1)
    pdf[0, 3], pdf[1], pdf[2, 4] = np.nan, 0.0, np.inf
    corrected = apply_pit(pdf, knots)
    assert np.isnan(corrected[:3]).all()
    assert np.isfinite(corrected[3]).all() and abs(corrected[3].sum() - 1) < 1e-6


def test_calibration_applies_its_current_knots():
    """The tabulated map is cached per knots, so knots set after an apply are the ones used."""
    from nncz.calibrate import Calibration

    pdf = np.random.default_rng(6).dirichlet(np.ones(30), size=20)
    calibration = Calibration("pit", pit_x=[0.0, 1.0], pit_y=[0.0, 1.0])  # the identity
    np.testing.assert_allclose(calibration.apply(pdf), pdf, atol=1e-6)
    calibration.pit_x, calibration.pit_y = [0.0, 0.2, 1.0], [0.0, 0.5, 1.0]
    assert np.abs(calibration.apply(pdf) - pdf).max() > 1e-2
    np.testing.assert_allclose(calibration.apply(pdf), apply_pit(pdf, ([0, 0.2, 1], [0, 0.5, 1])))
