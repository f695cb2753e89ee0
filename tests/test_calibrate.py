import numpy as np
import pytest

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
