"""SHAP explanations of the point redshift ``z_phot_mean`` as a function of the features.

One definition for every model, so their summaries can be compared: *interventional* Shapley
values of ``z_phot_mean`` against the same background sample (rows of the explained table).

- Tree baselines (:class:`~nncz.baselines.RandomForestPhotoZ`,
  :class:`~nncz.baselines.XGBoostPhotoZ`): ``shap.TreeExplainer`` with the background data
  (``feature_perturbation="interventional"``), exact and fast.
- Anything else with ``predict(table) -> DataFrame[z_phot_mean]`` (:class:`NNCEstimator`,
  :class:`~nncz.baselines.ANNRegressionPhotoZ`): ``shap.PermutationExplainer`` over an
  ``Independent`` masker on the background, calling the estimator's ``predict_pdf`` (the
  calibrated PDF's mean sum_i p_i z_i, i.e. ``z_phot_mean``) or else its ``predict``; the
  values add up exactly to the prediction minus the background mean (SHAP's local accuracy).
  Cost per explained row: ``n_permutations (2 n_features + 1) n_background`` model rows.

Rows are drawn only among those the estimator predicts a finite z for (its own bad-value
policy decides: NaN, sentinels, out-of-range values).

Example
-------
>>> result = explain(estimator, test_table, n_samples=500)       # doctest: +SKIP
>>> fig = shap_summary_figure(result); fig.savefig("shap.png")   # doctest: +SKIP
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from nncz.io import require_columns

logger = logging.getLogger(__name__)

METHODS = ("auto", "tree", "permutation")


@dataclass
class ShapResult:
    """SHAP values of ``z_phot_mean`` for a sample of rows.

    Attributes
    ----------
    values : float64 (n, n_features)
        Contribution of each feature to each row's ``z_phot_mean`` (redshift units).
    base_value : float
        Mean ``z_phot_mean`` over the background; ``base_value + values.sum(1)`` is the
        prediction.
    data : float64 (n, n_features)
        The explained feature values (e.g. magnitudes in AB mag).
    feature_names : list of str
    model_name : str
        Class name of the explained estimator (for titles).
    method : str
        "tree" or "permutation".
    """

    values: np.ndarray
    base_value: float
    data: np.ndarray
    feature_names: list[str]
    model_name: str
    method: str

    def mean_abs(self) -> pd.Series:
        """Mean |SHAP| per feature, largest first: the global importance ranking."""
        importance = np.abs(self.values).mean(axis=0)
        return pd.Series(importance, index=self.feature_names).sort_values(ascending=False)

    def to_explanation(self) -> Any:
        """The result as a ``shap.Explanation`` (for shap's other plots)."""
        import shap

        return shap.Explanation(values=self.values, base_values=np.full(len(self.values),
                                self.base_value), data=self.data,
                                feature_names=list(self.feature_names))


def explain(
    estimator: Any,
    table: pd.DataFrame,
    n_samples: int = 500,
    n_background: int = 100,
    seed: int = 0,
    method: str = "auto",
    n_permutations: int = 1,
) -> ShapResult:
    """SHAP values of a fitted estimator's ``z_phot_mean`` on a random subsample of ``table``.

    Parameters
    ----------
    estimator : fitted NNCEstimator or baseline
        Must have ``required_columns_`` (the input columns it reads, which are explained:
        features, and NNC's colour bands) and ``predict``; tree baselines also ``shap_model``.
    table : DataFrame
        Rows to explain and to draw the background from; needs the estimator's features.
    n_samples : int
        Rows explained (all usable rows if fewer).
    n_background : int
        Background rows (drawn separately from the explained ones where the table allows).
    seed : int
        Seeds both draws.
    method : {"auto", "tree", "permutation"}
        "auto" uses "tree" when the estimator offers ``shap_model`` and "permutation" otherwise.
    n_permutations : int
        Permutation explainer only: antithetic permutations per row (cost per row:
        ``n_permutations * (2 n_features + 1) * n_background`` model evaluations).
    """
    if method not in METHODS:
        raise ValueError(f"method {method!r} unknown; choose from {METHODS}")
    features = list(estimator.required_columns_)
    require_columns(table, features, "table to explain")
    x, background = _draw(_usable_rows(estimator, table, features, n_samples + n_background,
                                       seed), n_samples, n_background, seed)
    if method == "auto":
        method = "tree" if hasattr(estimator, "shap_model") else "permutation"
    if method == "tree":
        values, base = _tree_shap(estimator, x, background)
    else:
        values, base = _permutation_shap(estimator, features, x, background, seed,
                                         n_permutations)
    return ShapResult(values=np.asarray(values, dtype=np.float64), base_value=float(base),
                      data=x, feature_names=features, model_name=type(estimator).__name__,
                      method=method)


def _usable_rows(estimator: Any, table: pd.DataFrame, features: list[str], n_wanted: int,
                 seed: int) -> np.ndarray:
    """Up to ~2 n_wanted random rows (N, n_features) the estimator gives a finite z for.

    The estimator's own bad-value policy decides (e.g. NNC's sentinels), via ``predict``: a
    row without a prediction, or one whose bad values NNC filled (``nncz_flag != 0``), is not
    explained.
    """
    x_all = table[features].to_numpy(dtype=np.float64)
    order = np.random.default_rng(seed).permutation(len(x_all))
    candidates = x_all[order[: 2 * n_wanted]]
    candidates = candidates[np.isfinite(candidates).all(axis=1)]
    if len(candidates):
        predicted = estimator.predict(pd.DataFrame(candidates, columns=features))
        usable = np.isfinite(predicted["z_phot_mean"].to_numpy(dtype=np.float64))
        if "nncz_flag" in predicted:
            usable &= predicted["nncz_flag"].to_numpy() == 0
        candidates = candidates[usable]
    if len(candidates) < 2:
        raise ValueError("fewer than 2 rows the estimator can predict (finite, valid features)")
    if len(candidates) < n_wanted:
        logger.warning("only %d usable rows to explain and to draw the background from",
                       len(candidates))
    return candidates


def _draw(x_all: np.ndarray, n_samples: int, n_background: int, seed: int):
    rng = np.random.default_rng(seed + 1)
    order = rng.permutation(len(x_all))
    n_x = min(n_samples, len(x_all))
    explained = x_all[order[:n_x]]
    rest = order[n_x:] if len(order) - n_x >= n_background else order
    background = x_all[rng.choice(rest, size=min(n_background, len(rest)), replace=False)]
    return explained, background


def _tree_shap(estimator: Any, x: np.ndarray, background: np.ndarray):
    import shap

    if not hasattr(estimator, "shap_model"):
        raise TypeError(f"{type(estimator).__name__} has no tree model; use method='permutation'")
    features = list(estimator.required_columns_)

    def inputs(rows: np.ndarray) -> np.ndarray:  # the trees see the bad-value policy's inputs
        return estimator.model_inputs(pd.DataFrame(rows, columns=features))

    explainer = shap.TreeExplainer(estimator.shap_model(), data=inputs(background),
                                   feature_perturbation="interventional")
    values = explainer.shap_values(inputs(x), check_additivity=False)
    # Rows here have no bad values, so indicator inputs (after the features) are 0 in x and in
    # the background alike, and their Shapley values are 0: keep the features' columns.
    return np.asarray(values)[:, : len(features)], float(np.ravel(explainer.expected_value)[0])


def _permutation_shap(estimator: Any, features: list[str], x: np.ndarray,
                      background: np.ndarray, seed: int, n_permutations: int):
    import shap

    z_mean = _z_mean_function(estimator, features)
    masker = shap.maskers.Independent(background, max_samples=len(background))
    explainer = shap.PermutationExplainer(z_mean, masker, seed=seed)
    max_evals = n_permutations * (2 * len(features) + 1)
    explanation = explainer(x, max_evals=max_evals, silent=True)
    base = float(np.mean(z_mean(background)))
    return explanation.values, base


def _z_mean_function(estimator: Any, features: list[str]):
    """rows (N, n_features) -> z_phot_mean (N,), by the cheapest route the estimator offers.

    For a PDF estimator the mean is ``predict_pdf(rows) @ grid.centres`` (the definition of
    ``z_phot_mean``), which skips the other PDF products; otherwise ``predict``.
    """
    if hasattr(estimator, "predict_pdf") and hasattr(estimator, "grid"):
        centres = np.asarray(estimator.grid.centres, dtype=np.float64)

        def from_pdf(rows: np.ndarray) -> np.ndarray:
            pdf = estimator.predict_pdf(pd.DataFrame(rows, columns=features))
            return np.asarray(pdf, dtype=np.float64) @ centres

        return from_pdf

    def from_predict(rows: np.ndarray) -> np.ndarray:
        frame = pd.DataFrame(rows, columns=features)
        return estimator.predict(frame)["z_phot_mean"].to_numpy(dtype=np.float64)

    return from_predict


def shap_summary_figure(
    result: ShapResult, max_display: int | None = None, title: str | None = None
) -> Figure:
    """Beeswarm summary: one row per feature (most important on top), one point per object.

    The x axis is the SHAP value of ``z_phot_mean`` (redshift units); points are coloured by
    the feature's value (low blue, high red).

    Parameters
    ----------
    result : ShapResult
    max_display : int, optional
        Features shown (default all; beyond it shap merges the rest into one row).
    title : str, optional
        Default: "SHAP: z_phot_mean of <model> (<n> objects)".
    """
    import shap

    n_features = len(result.feature_names)
    max_display = n_features if max_display is None else max_display
    fig = Figure(figsize=(7.5, 0.45 * min(max_display, n_features) + 1.8), layout="constrained")
    ax = fig.add_subplot()
    shap.plots.beeswarm(result.to_explanation(), max_display=max_display, ax=ax, show=False,
                        plot_size=None, color_bar=True)
    ax.set_xlabel("SHAP value of z_phot_mean (impact on the redshift)")
    ax.set_title(title or f"SHAP: z_phot_mean of {result.model_name} "
                 f"({len(result.values)} objects)")
    return fig
