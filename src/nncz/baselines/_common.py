"""Shared plumbing of the point-estimate baselines: inputs, validation split, grid search, files.

Every baseline is a :class:`PointPhotoZ`, a scikit-learn ``BaseEstimator`` under the same
contract as :class:`nncz.estimator.NNCEstimator`: ``__init__`` only stores its arguments
(``get_params``, ``set_params`` and ``sklearn.base.clone`` work), ``fit`` validates them and never
changes its inputs, learned state ends in ``_``. ``fit / predict / save / load`` are NNC's,
except that ``predict`` returns only the point estimate ``z_phot_mean`` (these models give no PDF,
and none is invented for them).

Bad values: training rows whose features or target are not finite are dropped with a warning
that gives the count; at prediction such rows get ``z_phot_mean = NaN`` (one output row per input
row, in input order), again with a warning. Sentinel magnitudes (99, -99, errors of 10^4 mag) are
finite, so screen them before calling (see ``benchmarks/baselines_sdss.py``).
"""

from __future__ import annotations

import itertools
import json
import logging
import platform
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from nncz.bundle import file_sha256
from nncz.io import atomic_write, require_columns
from nncz.metrics import point_metrics
from nncz.paths import ModelFileError

logger = logging.getLogger(__name__)

META_FILE = "meta.json"
FORMAT_VERSION = 1
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


def package_versions() -> dict[str, str]:
    """Versions of the packages that shape a saved baseline, for its ``meta.json``."""
    versions = {"python": platform.python_version()}
    for name in ("nncz", "numpy", "scikit-learn", "xgboost", "torch"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def write_json(obj: Any, path: Path) -> Path:
    """Write ``obj`` as indented JSON, atomically."""
    text = json.dumps(obj, indent=2, default=_json_default)
    return atomic_write(path, lambda temp: Path(temp).write_text(text + "\n"))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


class PointPhotoZ(BaseEstimator):
    """Base class of the point-estimate baselines (see the module docstring).

    Subclasses implement ``__init__`` (storing its arguments only), ``_param_checks``,
    ``_fit_arrays``, ``_predict_array``, ``_save_model`` and ``_load_model``.
    """

    seed: int
    validation_fraction: float

    # -- public API -------------------------------------------------------------------------
    def fit(
        self,
        table: pd.DataFrame,
        features: Sequence[str],
        target: str = "z_spec",
        validation: pd.DataFrame | float | None = None,
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
            at random (seeded by ``seed``); None means ``validation_fraction`` (default 0.1).
        """
        self._check_params()
        if not list(features):
            raise ValueError("features is empty: give at least one feature column")
        self.features_ = [str(f) for f in features]
        self.target_ = str(target)
        train, valid = self._split(table, validation)
        x_train, y_train = self._training_arrays(train, "training table")
        x_valid, y_valid = self._training_arrays(valid, "validation table")
        self.n_train_, self.n_valid_ = len(y_train), len(y_valid)
        self._fit_arrays(x_train, y_train, x_valid, y_valid)
        self.metrics_ = {"validation": validation_score(self._predict_array(x_valid), y_valid)}
        return self

    def predict(self, table: pd.DataFrame) -> pd.DataFrame:
        """Point redshifts: a DataFrame with one column ``z_phot_mean``, indexed like ``table``.

        Rows with a non-finite feature get NaN (and a warning with their count).
        """
        self._check_fitted()
        x = self._feature_matrix(table, "prediction table")
        good = np.isfinite(x).all(axis=1)
        z_phot = np.full(len(x), np.nan)
        if (~good).any():
            logger.warning("%d of %d rows have non-finite features; their z_phot_mean is NaN",
                           int((~good).sum()), len(x))
        if good.any():
            z_phot[good] = self._predict_array(x[good])
        return pd.DataFrame({"z_phot_mean": z_phot}, index=table.index)

    def save(self, directory: str | Path) -> Path:
        """Write the fitted model to ``directory``: model file(s) and a readable ``meta.json``."""
        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        files = self._save_model(directory)
        meta = {
            "estimator": type(self).__name__,
            "format_version": FORMAT_VERSION,
            "params": self.get_params(),
            "features": self.features_,
            "target": self.target_,
            "n_train": self.n_train_,
            "n_valid": self.n_valid_,
            "best_params": self.best_params_,
            "grid_results": self.grid_results_,
            "metrics": self.metrics_,
            "model_files": files,
            "model_sha256": {name: file_sha256(directory / name) for name in files},
            "versions": package_versions(),
            **self._extra_meta(),
        }
        write_json(meta, directory / META_FILE)
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> PointPhotoZ:
        """Rebuild a model written by :meth:`save` (no pickle: numeric arrays and JSON only)."""
        directory = Path(directory)
        meta_path = directory / META_FILE
        if not meta_path.exists():
            raise FileNotFoundError(f"{meta_path}: no such file; is {directory} a saved model?")
        meta = json.loads(meta_path.read_text())
        if meta.get("estimator") != cls.__name__:
            raise ValueError(
                f"{meta_path} holds a {meta.get('estimator')!r}, not a {cls.__name__}"
            )
        est = cls(**meta["params"])
        est.features_, est.target_ = list(meta["features"]), meta["target"]
        est.n_train_, est.n_valid_ = meta["n_train"], meta["n_valid"]
        est.best_params_, est.grid_results_ = meta["best_params"], meta["grid_results"]
        est.metrics_ = meta["metrics"]
        _check_model_files(directory, meta)
        est._load_model(directory, meta)
        return est

    # -- settings ---------------------------------------------------------------------------
    def _check_params(self) -> None:
        """Validate the constructor arguments; one clear error naming the parameter."""
        checks = {"validation_fraction": 0 < self.validation_fraction < 1,
                  **self._param_checks()}
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"{type(self).__name__}: invalid {name}="
                                 f"{getattr(self, name)!r}")

    # -- helpers shared by subclasses -------------------------------------------------------
    def _split(
        self, table: pd.DataFrame, validation: pd.DataFrame | float | None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        if isinstance(validation, pd.DataFrame):
            return table, validation
        fraction = self.validation_fraction if validation is None else float(validation)
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"validation fraction must be in (0, 1), got {fraction}")
        from nncz.estimator import holdout_mask  # the same draw as NNC: same seed, same rows

        held = holdout_mask(len(table), fraction, self.seed)
        return table[~held], table[held]

    def _feature_matrix(self, table: pd.DataFrame, source: str) -> np.ndarray:
        require_columns(table, self.features_, source)
        return table[self.features_].to_numpy(dtype=np.float64)

    def _training_arrays(self, table: pd.DataFrame, source: str) -> tuple[np.ndarray, np.ndarray]:
        x = self._feature_matrix(table, source)
        require_columns(table, [self.target_], source)
        y = table[self.target_].to_numpy(dtype=np.float64)
        good = np.isfinite(x).all(axis=1) & np.isfinite(y)
        if (~good).any():
            logger.warning("%s: dropped %d of %d rows with non-finite features or target",
                           source, int((~good).sum()), len(y))
        if good.sum() < 2:
            raise ValueError(f"{source}: fewer than 2 usable rows after dropping bad values")
        return x[good], y[good]

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

    def _check_fitted(self) -> None:
        if not hasattr(self, "features_"):
            raise RuntimeError(f"this {type(self).__name__} is not fitted; call fit() or load()")

    def _extra_meta(self) -> dict[str, Any]:
        return {}

    # -- subclass hooks ---------------------------------------------------------------------
    def _param_checks(self) -> dict[str, bool]:  # pragma: no cover - abstract
        """``{parameter name: whether its value is valid}`` for :meth:`_check_params`."""
        raise NotImplementedError

    def _fit_arrays(self, x_train, y_train, x_valid, y_valid) -> None:  # pragma: no cover
        raise NotImplementedError

    def _predict_array(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _save_model(self, directory: Path) -> list[str]:  # pragma: no cover
        raise NotImplementedError

    def _load_model(self, directory: Path, meta: dict) -> None:  # pragma: no cover
        raise NotImplementedError


def check_grid_params(estimator: PointPhotoZ) -> dict[str, bool]:
    """Validity of the settings the grid-searching baselines share (RF, XGBoost)."""
    grid = estimator.param_grid
    return {"param_grid": grid is None or isinstance(grid, Mapping),
            "scoring": estimator.scoring in SCORINGS,
            "n_jobs": isinstance(estimator.n_jobs, int | np.integer) and estimator.n_jobs != 0}


def _check_model_files(directory: Path, meta: dict) -> None:
    """Compare each model file with the SHA-256 recorded at save time (files saved before
    checksums were recorded have none and are not checked)."""
    for name, expected in meta.get("model_sha256", {}).items():
        path = directory / name
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file; {META_FILE} lists it")
        if file_sha256(path) != expected:
            raise ModelFileError(f"{path}: checksum differs from model_sha256 in {META_FILE} "
                                 "(the file was changed or belongs to another model)")
