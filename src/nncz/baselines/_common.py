"""What the point-estimate baselines share beyond :class:`nncz.base.PhotoZEstimator`.

Every baseline is a :class:`PointPhotoZ`: the base owns the feature columns, the bad-value policy
(``bad_values="fill"`` or ``"drop"``, :mod:`nncz.cleaning`, as NNC), the scaler, the validation
split and the model bundle (:mod:`nncz.bundle`); a baseline implements only ``_fit_arrays`` and
``_predict_arrays`` on model inputs, and the part of the bundle that holds its fitted model.
``predict`` returns the point estimate ``z_phot_mean`` and NNC's ``nncz_flag`` (these models give
no PDF, and none is invented for them): rows whose features cannot be used get NaN and flag 1,
rows with filled values flag 2.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nncz.base import PhotoZEstimator, row_flags
from nncz.bundle import BundleFields
from nncz.io import require_columns
from nncz.metrics import point_metrics

logger = logging.getLogger(__name__)

SCORINGS = ("sigma_nmad", "eta", "rmse")


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """All combinations of a parameter grid, in a stable order (keys sorted, values as given).

    Parameters
    ----------
    grid : mapping of str to non-empty sequence
        e.g. ``{"max_depth": [4, 6], "learning_rate": [0.05, 0.1]}`` -> 4 combinations.
    """
    keys = sorted(grid)
    for key in keys:
        values = grid[key]
        if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
            raise ValueError(f"grid entry {key!r} must be a non-empty list, got {values!r}")
    combos = itertools.product(*(grid[k] for k in keys))
    return [dict(zip(keys, combo, strict=True)) for combo in combos]


def validation_score(z_phot: np.ndarray, z_spec: np.ndarray) -> dict[str, float]:
    """Point metrics (``nncz.metrics.point_metrics``) plus the RMSE of z, for model selection."""
    scores = point_metrics(z_phot, z_spec)
    scores["rmse"] = float(np.sqrt(np.mean((z_phot - z_spec) ** 2)))
    return scores


class PointPhotoZ(PhotoZEstimator):
    """Base class of the point-estimate baselines (see the module docstring).

    Subclasses implement ``__init__`` (storing its arguments only), ``_param_checks``,
    ``_fit_arrays``, ``_predict_arrays`` and the bundle hooks of
    :class:`~nncz.base.PhotoZEstimator` (calling this class's for the fields every baseline
    has: ``n_train``, ``n_valid``, ``best_params``, ``grid_results``).
    """

    def fit(
        self,
        table: pd.DataFrame,
        features: Sequence[str],
        target: str = "z_spec",
        validation: pd.DataFrame | float | None = None,
        source: str = "training table",
    ) -> PointPhotoZ:
        """Fit on ``table[features] -> table[target]``, selecting hyper-parameters on validation.

        Parameters
        ----------
        table : DataFrame
            Training rows; ``features`` (e.g. magnitudes in AB mag) and ``target`` columns.
        features : sequence of str
            Feature column names, in the order the model sees them.
        target : str
            Spectroscopic-redshift column.
        validation : DataFrame, float or None
            A validation table with the same columns, or the fraction of ``table`` to hold out
            at random (seeded by ``seed``, the same rows as NNC); None means
            ``validation_fraction``.
        source : str
            Name of ``table`` in messages.
        """
        x_train, z_train, x_val, z_val = self._training_arrays(table, features, target,
                                                               validation, source)
        self.n_train_, self.n_valid_ = len(z_train), len(z_val)
        self._fit_arrays(x_train, z_train, x_val, z_val)
        self.metrics_ = {"validation": validation_score(self._predict_arrays(x_val), z_val)}
        return self

    def predict(self, table: pd.DataFrame, source: str = "input table") -> pd.DataFrame:
        """Point redshifts: ``z_phot_mean`` and ``nncz_flag``, one row per input row, indexed
        like ``table``. Rows whose features cannot be used get NaN (a warning gives the count)."""
        self._check_fitted()
        require_columns(table, self.required_columns_, source)
        x, bad = self._inputs(table)
        usable = self.policy_.usable_rows(bad)
        z_phot = np.full(len(x), np.nan)
        if (~usable).any():
            logger.warning("%d of %d rows have unusable features; their z_phot_mean is NaN",
                           int((~usable).sum()), len(x))
        if usable.any():
            z_phot[usable] = self._predict_arrays(x[usable])
        return pd.DataFrame({"z_phot_mean": z_phot, "nncz_flag": row_flags(bad, usable)},
                            index=table.index)

    def _grid_search(
        self,
        grid: Mapping[str, Sequence[Any]],
        fit_one: Callable[[dict[str, Any]], Any],
        predict_one: Callable[[Any], np.ndarray],
        y_valid: np.ndarray,
        scoring: str,
    ) -> Any:
        """Fit every grid point, score it on validation, keep the best (lowest ``scoring``).

        Sets ``best_params_`` and ``grid_results_`` (one dict per point: params and scores).
        Ties go to the earlier grid point.
        """
        if scoring not in SCORINGS:
            raise ValueError(f"scoring {scoring!r} unknown; choose from {SCORINGS}")
        best_model, best_score, results = None, np.inf, []
        for params in expand_grid(grid):
            model = fit_one(params)
            scores = validation_score(predict_one(model), y_valid)
            results.append({"params": params, **scores})
            logger.info("%s %s: validation sigma_NMAD %.4f eta %.2f%% rmse %.4f",
                        type(self).__name__, params, scores["sigma_nmad"], scores["eta"],
                        scores["rmse"])
            if scores[scoring] < best_score:
                best_model, best_score = model, scores[scoring]
                self.best_params_ = dict(params)
        if best_model is None:
            raise RuntimeError(f"no grid point gave a finite validation {scoring}")
        self.grid_results_ = results
        return best_model

    # -- bundle: the fields every baseline has ------------------------------------------------
    def _bundle_fields(self) -> dict[str, Any]:
        return {"n_train": self.n_train_, "n_valid": self.n_valid_,
                "best_params": self.best_params_, "grid_results": self.grid_results_}

    def _restore_payload(self, fields: BundleFields, path: Path) -> None:
        self.n_train_, self.n_valid_ = int(fields.get("n_train")), int(fields.get("n_valid"))
        self.best_params_ = fields.get("best_params")
        self.grid_results_ = fields.get("grid_results")

    # -- subclass hooks ---------------------------------------------------------------------
    def _fit_arrays(self, x_train: np.ndarray, z_train: np.ndarray, x_val: np.ndarray,
                    z_val: np.ndarray) -> None:  # pragma: no cover - abstract
        """Learn from model inputs (N, n_inputs) float32 and redshifts (N,)."""
        raise NotImplementedError

    def _predict_arrays(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Point redshifts (N,) float64 of model inputs (N, n_inputs) float32."""
        raise NotImplementedError


def check_grid_params(estimator: PointPhotoZ) -> dict[str, bool]:
    """Validity of the settings the grid-searching baselines share (RF, XGBoost)."""
    grid = estimator.param_grid
    return {"param_grid": grid is None or isinstance(grid, Mapping),
            "scoring": estimator.scoring in SCORINGS,
            "n_jobs": isinstance(estimator.n_jobs, int | np.integer) and estimator.n_jobs != 0}
