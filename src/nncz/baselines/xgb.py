"""XGBoost photo-z baseline, saved in XGBoost's own JSON model format (no pickle)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nncz.baselines._common import PointPhotoZ, check_grid_params
from nncz.bundle import BundleFields
from nncz.cleaning import BadValuePolicy
from nncz.io import atomic_write
from nncz.paths import ModelFileError

MODEL_FILE = "xgboost_model.json"


class XGBoostPhotoZ(PointPhotoZ):
    """Gradient-boosted trees (``xgboost``) regressing z, hyper-parameters picked on validation.

    Each grid point is boosted for up to ``n_estimators`` rounds with early stopping on the
    validation RMSE (``early_stopping_rounds``), then scored on the validation set by
    ``scoring``; the best point's booster is kept and predicts with its best round.

    Parameters
    ----------
    param_grid : mapping of str to list, optional
        ``xgboost.XGBRegressor`` arguments to search (None: :attr:`DEFAULT_GRID`).
    fixed_params : mapping, optional
        Arguments used at every grid point (None: :attr:`DEFAULT_FIXED`; a grid entry wins).
    n_estimators : int
        Maximum boosting rounds.
    early_stopping_rounds : int
        Rounds without validation improvement before boosting stops.
    scoring : {"sigma_nmad", "eta", "rmse"}
        Validation score to minimise across the grid.
    n_jobs : int
        Threads for xgboost (2 by default: small shared machines).
    seed : int
        Seeds xgboost's row/column subsampling and the validation hold-out.
    validation_fraction : float
        Fraction held out when ``fit`` gets no validation table.
    bad_values : {"fill", "drop"} or BadValuePolicy
        NNC's bad-value policy (:mod:`nncz.cleaning`): fill bad values (and add indicator
        features), or drop such rows in training and give them NaN.
    """

    kind = "xgb"

    DEFAULT_GRID: Mapping[str, Sequence[Any]] = {
        "max_depth": [4, 6, 8],
        "learning_rate": [0.03, 0.1],
    }
    DEFAULT_FIXED: Mapping[str, Any] = {
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "min_child_weight": 1.0,
        "tree_method": "hist",
        "objective": "reg:squarederror",
    }

    def __init__(
        self,
        param_grid: Mapping[str, Sequence[Any]] | None = None,
        fixed_params: Mapping[str, Any] | None = None,
        n_estimators: int = 3000,
        early_stopping_rounds: int = 50,
        scoring: str = "sigma_nmad",
        n_jobs: int = 2,
        seed: int = 0,
        validation_fraction: float = 0.1,
        bad_values: str | BadValuePolicy = "fill",
    ) -> None:
        self.param_grid = param_grid
        self.fixed_params = fixed_params
        self.n_estimators = n_estimators
        self.early_stopping_rounds = early_stopping_rounds
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.seed = seed
        self.validation_fraction = validation_fraction
        self.bad_values = bad_values

    def _param_checks(self) -> dict[str, bool]:
        return {**check_grid_params(self),
                "fixed_params": self.fixed_params is None or isinstance(self.fixed_params,
                                                                        Mapping),
                "n_estimators": int(self.n_estimators) >= 1,
                "early_stopping_rounds": int(self.early_stopping_rounds) >= 1}

    def _fit_arrays(self, x_train: np.ndarray, y_train: np.ndarray, x_valid: np.ndarray,
                    y_valid: np.ndarray) -> None:
        import xgboost as xgb

        fixed = self.DEFAULT_FIXED if self.fixed_params is None else self.fixed_params
        self.fixed_params_ = dict(fixed)  # recorded in the bundle: the defaults may change

        def fit_one(params: dict[str, Any]) -> tuple[Any, int]:
            model = xgb.XGBRegressor(
                **{**fixed, **params}, n_estimators=self.n_estimators,
                early_stopping_rounds=self.early_stopping_rounds, eval_metric="rmse",
                n_jobs=self.n_jobs, random_state=self.seed,
            )
            model.fit(x_train, y_train, eval_set=[(x_valid, y_valid)], verbose=False)
            n_rounds = int(model.best_iteration) + 1
            # Keep only the rounds used, so saved file, predictions and SHAP all agree.
            return model.get_booster()[:n_rounds], n_rounds

        def predict_one(fitted: tuple[Any, int]) -> np.ndarray:
            return _predict(fitted[0], fitted[1], x_valid)

        grid = self.DEFAULT_GRID if self.param_grid is None else self.param_grid
        self.booster_, self.n_rounds_ = self._grid_search(
            grid, fit_one, predict_one, y_valid, self.scoring
        )

    def _predict_arrays(self, x: np.ndarray) -> np.ndarray:
        return _predict(self.booster_, self.n_rounds_, x)

    def _bundle_fields(self) -> dict[str, Any]:
        return {**super()._bundle_fields(), "n_rounds": self.n_rounds_,
                "fixed_params_used": self.fixed_params_}

    def _write_payload(self, directory: Path) -> str:
        # xgboost picks the format from the suffix, so the temporary file must end in .json.
        def write(temp: Path) -> None:
            json_temp = temp.with_name(temp.name + ".json")
            self.booster_.save_model(json_temp)
            json_temp.replace(temp)

        atomic_write(directory / MODEL_FILE, write)
        return MODEL_FILE

    def _restore_payload(self, fields: BundleFields, path: Path) -> None:
        super()._restore_payload(fields, path)
        self.booster_ = read_booster(path, self.n_jobs)
        self.n_rounds_ = int(fields.get("n_rounds"))
        self.fixed_params_ = fields.get("fixed_params_used")

    def shap_model(self) -> Any:
        """The fitted booster, for ``shap.TreeExplainer``."""
        self._check_fitted()
        return self.booster_


def read_booster(path: Path, n_jobs: int) -> Any:
    """An ``xgboost.Booster`` read from its JSON model file ``path``, using ``n_jobs`` threads."""
    import xgboost as xgb

    try:
        booster = xgb.Booster(model_file=str(path))
    except xgb.core.XGBoostError as error:
        raise ModelFileError(f"{path}: not a readable XGBoost model "
                             f"({str(error).splitlines()[0]})") from None
    booster.set_param({"nthread": n_jobs})
    return booster


def _predict(booster: Any, n_rounds: int, x: np.ndarray) -> np.ndarray:
    return np.asarray(
        booster.inplace_predict(np.ascontiguousarray(x, dtype=np.float32),
                                iteration_range=(0, n_rounds)),
        dtype=np.float64,
    )
