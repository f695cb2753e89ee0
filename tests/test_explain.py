"""SHAP explanations: additivity, the known drivers of z, and what the beeswarm draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nncz.baselines import RandomForestPhotoZ, XGBoostPhotoZ
from nncz.explain import ShapResult, explain, shap_summary_figure
from nncz.io import ColumnError

FEATURES = [f"colour_{i}" for i in range(5)]


def synthetic(n: int, seed: int) -> pd.DataFrame:
    """z rises with colour_0, falls with colour_2; colours 3 and 4 do not enter at all."""
    rng = np.random.default_rng(seed)
    c = rng.uniform(-1.0, 1.0, (n, 5))
    z = 0.6 + 0.4 * np.tanh(1.2 * c[:, 0] - 0.7 * c[:, 2] + 0.5 * c[:, 1] ** 2 - 0.2)
    table = pd.DataFrame(c, columns=FEATURES)
    table["z_spec"] = z + 0.01 * (1 + z) * rng.normal(size=n)
    return table


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    return synthetic(1500, seed=1), synthetic(400, seed=2)


@pytest.fixture(scope="module")
def trees(data):
    train, _ = data
    return [
        RandomForestPhotoZ(param_grid={"n_estimators": [30], "min_samples_leaf": [3]})
        .fit(train, FEATURES),
        XGBoostPhotoZ(param_grid={"max_depth": [4], "learning_rate": [0.2]}, n_estimators=300)
        .fit(train, FEATURES),
    ]


@pytest.fixture(scope="module")
def nnc(data):
    from nncz.estimator import NNCEstimator
    from nncz.grid import RedshiftGrid

    train, _ = data
    estimator = NNCEstimator(grid=RedshiftGrid(0.0, 1.2, 60), hidden=(32, 16), batch_size=256,
                             max_epochs=15, patience=5, verbose=False)
    return estimator.fit(train, FEATURES)


def check_drivers(result: ShapResult) -> None:
    """The explanation must recover how the synthetic z was built."""
    shap_by = dict(zip(result.feature_names, result.values.T, strict=True))
    data_by = dict(zip(result.feature_names, result.data.T, strict=True))
    assert np.corrcoef(data_by["colour_0"], shap_by["colour_0"])[0, 1] > 0.8
    assert np.corrcoef(data_by["colour_2"], shap_by["colour_2"])[0, 1] < -0.8
    ranking = result.mean_abs()
    assert ranking.index[0] == "colour_0"
    assert ranking[["colour_3", "colour_4"]].max() < 0.2 * ranking["colour_0"]


def additivity_error(result: ShapResult, estimator) -> float:
    frame = pd.DataFrame(result.data, columns=result.feature_names)
    z = estimator.predict(frame)["z_phot_mean"].to_numpy()
    return float(np.abs(result.base_value + result.values.sum(axis=1) - z).max())


def test_tree_explanations(trees, data):
    _, test = data
    for estimator in trees:
        result = explain(estimator, test, n_samples=150, n_background=50)
        assert result.method == "tree" and result.values.shape == (150, 5)
        assert additivity_error(result, estimator) < 1e-5
        check_drivers(result)


def test_nnc_explanation_by_permutation(nnc, data):
    _, test = data
    dirty = test.copy()
    dirty.loc[dirty.index[:40], "colour_0"] = 99.0  # NNC's sentinel: these rows are not drawn
    result = explain(nnc, dirty, n_samples=60, n_background=20)
    assert result.method == "permutation" and result.values.shape == (60, 5)
    assert np.abs(result.data).max() <= 1.0
    assert additivity_error(result, nnc) < 1e-5
    check_drivers(result)
    with pytest.raises(TypeError, match="permutation"):
        explain(nnc, test, method="tree")


def test_beeswarm_draws_every_point_and_name(trees, data):
    _, test = data
    result = explain(trees[1], test, n_samples=120, n_background=40)
    fig = shap_summary_figure(result)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert sorted(labels) == sorted(FEATURES)
    assert labels[-1] == "colour_0"  # most important on top
    assert sum(len(c.get_offsets()) for c in ax.collections) == 120 * 5
    assert "SHAP" in ax.get_xlabel() and "XGBoostPhotoZ" in ax.get_title()
    assert len(fig.axes) == 2  # the beeswarm and its feature-value colour bar
    small = shap_summary_figure(result, max_display=3).axes[0]
    assert len(small.get_yticklabels()) == 3  # two rows plus the merged "other features"


def test_bad_inputs(trees, data):
    _, test = data
    with pytest.raises(ColumnError, match="colour_1"):
        explain(trees[0], test.drop(columns="colour_1"))
    with pytest.raises(ValueError, match="method"):
        explain(trees[0], test, method="kernel")
    dirty = test.copy()
    dirty.loc[dirty.index[:5], "colour_0"] = np.nan
    assert np.isfinite(explain(trees[0], dirty, n_samples=400, n_background=20).data).all()
