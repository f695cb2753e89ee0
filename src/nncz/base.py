"""PhotoZEstimator: what every nncz estimator shares around its model.

The base owns the feature columns (``features_``), the target (``target_``), the bad-value
policy (``policy_``, :class:`nncz.cleaning.BadValuePolicy`), the standardisation of the inputs
(``scaler_mean_``, ``scaler_scale_``, for the models that set :attr:`uses_scaler`), the seeded
validation split, the cleaning of training rows, and save/load in the one model-bundle format of
:mod:`nncz.bundle`. A subclass implements only what is its own: learning from and predicting on
arrays, and the part of the bundle that holds its learned model (:meth:`_bundle_fields`,
:meth:`_write_payload`, :meth:`_restore_payload`; :meth:`_init_kwargs` for constructor arguments
kept in those fields). Optional hooks: :meth:`_target_range` (NNC: its grid) and
:meth:`_model_table` with :attr:`model_features_` (NNC: colours derived from magnitudes), and
:meth:`required_columns` (NNC: its colour bands).

scikit-learn's contract: ``__init__`` stores its arguments unchanged (``get_params``,
``set_params`` and ``sklearn.base.clone`` work), ``fit`` validates them and never changes its
inputs (a policy passed as ``bad_values`` is copied), learned state ends in ``_``. The base
implements ``get_params`` / ``set_params`` / ``repr`` itself, from ``__init__``'s signature as
scikit-learn does, rather than inheriting ``sklearn.base.BaseEstimator``: importing scikit-learn
also imports ``scipy.stats``, ~75 MB of resident memory in every ``nncz predict`` (issue 14).
"""

from __future__ import annotations

import copy
import inspect
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from nncz.bundle import BundleFields, fit_scaler, load_model, save_bundle
from nncz.cleaning import BadValuePolicy, clean_target
from nncz.io import require_columns

log = logging.getLogger("nncz")

BAD_VALUE_MODES = ("fill", "drop")
FLAG_NO_PREDICTION = 1  # nncz_flag bit: the row's features cannot be used; products are NaN
FLAG_FILLED = 2  # nncz_flag bit: some bad feature values were filled (``fill`` policy)


def _same_value(value: Any, default: Any) -> bool:
    """Whether a constructor argument equals its default (``repr`` leaves it out)."""
    if value is default:
        return True
    try:
        return bool(value == default)
    except (TypeError, ValueError):  # arrays and other values without a plain truth value
        return False


def holdout_mask(n_rows: int, fraction: float, seed: int) -> np.ndarray:
    """Seeded validation draw shared by NNC and the baselines (same seed -> same rows held)."""
    return np.random.default_rng(seed).random(n_rows) < fraction


class PhotoZEstimator:
    """Base of the nncz estimators (see the module docstring).

    Subclasses set :attr:`kind` (the ``kind`` field of their bundle), store their constructor
    arguments (at least ``seed``, ``validation_fraction`` and ``bad_values``) and implement
    ``_param_checks`` and the bundle hooks.
    """

    kind: ClassVar[str]
    uses_scaler: ClassVar[bool] = False
    # Constructor arguments the bundle keeps in kind-specific fields rather than in "settings".
    params_in_fields: ClassVar[tuple[str, ...]] = ()

    seed: int
    validation_fraction: float
    bad_values: str | BadValuePolicy

    # -- settings ---------------------------------------------------------------------------
    @classmethod
    def _get_param_names(cls) -> list[str]:
        """Names of the constructor arguments, sorted (scikit-learn's convention)."""
        parameters = inspect.signature(cls.__init__).parameters.values()
        return sorted(p.name for p in parameters if p.name != "self"
                      and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments as stored, by name (what ``sklearn.base.clone`` copies).

        ``deep`` is accepted for scikit-learn's signature; no argument is an estimator, so
        there are no nested parameters to add.
        """
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> PhotoZEstimator:
        """Set constructor arguments by name; an unknown name raises ``ValueError``."""
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"{type(self).__name__}: invalid parameter {name!r}; "
                                 f"valid parameters: {valid}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        """``Class(arg=value, ...)`` with the arguments that differ from their defaults."""
        defaults = inspect.signature(type(self)).parameters
        changed = [f"{name}={value!r}" for name, value in self.get_params().items()
                   if not _same_value(value, defaults[name].default)]
        return f"{type(self).__name__}({', '.join(changed)})"

    def _check_params(self) -> None:
        """Validate the constructor arguments; one clear error naming the parameter."""
        checks = {
            "validation_fraction": 0 < self.validation_fraction < 1,
            "bad_values": (isinstance(self.bad_values, BadValuePolicy)
                           or self.bad_values in BAD_VALUE_MODES),
            **self._param_checks(),
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"{type(self).__name__}: invalid {name}="
                                 f"{getattr(self, name)!r}")

    def _new_policy(self) -> BadValuePolicy:
        if isinstance(self.bad_values, BadValuePolicy):
            return copy.deepcopy(self.bad_values)  # fit never mutates what the caller passed
        return BadValuePolicy(mode=self.bad_values)

    def _check_features(self, features: list[str], source: str) -> None:
        """Refuse feature lists the model cannot use (here: an empty one)."""
        if not features:
            raise ValueError(f"{source}: features is empty; give at least one feature column")

    def required_columns(self, features: Sequence[str]) -> list[str]:
        """Columns a table must hold to fit on ``features`` and to predict with that model
        (here: the features; NNC adds its colour bands)."""
        return list(features)

    def _target_range(self) -> tuple[float, float]:
        """Redshifts a training row may have, ``[low, high)``; every finite value by default."""
        return -np.inf, np.inf

    # -- fit --------------------------------------------------------------------------------
    def _training_arrays(
        self,
        table: pd.DataFrame,
        features: Sequence[str],
        target: str,
        validation: pd.DataFrame | float | None,
        source: str,
        hold_out: bool = True,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Check the settings and the tables, split, clean, fit the policy (and the scaler).

        Sets ``features_``, ``target_``, ``policy_`` (and ``scaler_mean_``, ``scaler_scale_``)
        and returns ``(x_train, z_train, x_val, z_val)``: model inputs (N, n_inputs) float32,
        standardised when :attr:`uses_scaler`, and redshifts (N,) float64. With
        ``hold_out=False`` every row of ``table`` trains and the validation arrays are empty
        (NNC's cross-fitted ensemble validates on folds of its own).
        """
        self._check_params()
        features = [str(f) for f in features]
        self._check_features(features, source)
        columns = self.required_columns(features)
        if target in columns:
            raise ValueError(f"{source}: the target column {target!r} is also a feature "
                             "(or colour band)")
        require_columns(table, [*columns, target], source)
        train_table, val_table = (self._split(table, validation, columns, target) if hold_out
                                  else (table, table.iloc[:0]))
        self.features_, self.target_ = features, str(target)
        self.policy_ = self._new_policy()
        train_table = self._clean_training(train_table, f"training rows of {source}")
        if hold_out:
            val_table = self._clean_training(val_table, "validation rows" + (
                "" if isinstance(validation, pd.DataFrame) else f" of {source}"))
        columns, train_columns = self.model_features_, self._model_table(train_table)
        self.policy_.fit(train_columns, columns)
        x_train, _ = self.policy_.transform(train_columns, columns)
        if self.uses_scaler:
            self._fit_scaler(x_train, columns, source)
            x_train = self._scale(x_train).astype(np.float32)
        x_val = self._inputs(val_table)[0]
        return (x_train, train_table[target].to_numpy(np.float64), x_val,
                val_table[target].to_numpy(np.float64))

    def _split(self, table: pd.DataFrame, validation: pd.DataFrame | float | None,
               columns: list[str], target: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(training, validation) tables: ``validation`` itself (which must hold ``columns``
        and ``target``), or a seeded hold-out of that fraction of ``table``
        (``validation_fraction`` when None)."""
        if isinstance(validation, pd.DataFrame):
            require_columns(validation, [*columns, target], "validation table")
            return table, validation
        fraction = self.validation_fraction if validation is None else float(validation)
        if not 0 < fraction < 1:
            raise ValueError(f"validation fraction must be in (0, 1), got {fraction}")
        is_val = holdout_mask(len(table), fraction, int(self.seed))
        return table[~is_val], table[is_val]

    def _clean_training(self, table: pd.DataFrame, name: str) -> pd.DataFrame:
        """Rows with a usable target (finite, in :meth:`_target_range`) and usable features."""
        low, high = self._target_range()
        keep = clean_target(table[self.target_].to_numpy(), low, high,
                            f"{self.target_} ({name})")
        unusable = ~self.valid_rows(table[keep])
        if unusable.any():
            bad_counts = self.policy_.report(self._model_table(table[keep]),
                                             self.model_features_)
            log.warning("%s: dropping %d of %d rows with unusable features %s", name,
                        int(unusable.sum()), int(keep.sum()),
                        {k: v for k, v in bad_counts.items() if v})
            keep[np.flatnonzero(keep)[unusable]] = False
        if keep.sum() < 2:
            raise ValueError(f"{name} set has {int(keep.sum())} usable rows; need at least 2")
        return table[keep]

    def _fit_scaler(self, x_train: np.ndarray, columns: list[str], source: str) -> None:
        """Standardisation of the model inputs ``x_train`` of the policy's ``columns``."""
        self.scaler_mean_, scale = fit_scaler(x_train)
        names = self.policy_.feature_names(columns)
        constant = [name for name, s in zip(names, x_train.std(axis=0), strict=True)
                    if not s > 0]
        if constant:
            log.warning("%s: constant feature(s) %s carry no information (all values equal, or "
                        "all bad and filled)", source, constant)
        self.scaler_scale_ = scale.astype(np.float32)

    # -- inputs at prediction ---------------------------------------------------------------
    @property
    def required_columns_(self) -> list[str]:
        """Columns an input table must hold: ``features_`` (NNC adds its colour bands that are
        not features)."""
        return self.required_columns(self.features_)

    @property
    def model_features_(self) -> list[str]:
        """Columns the bad-value policy and the model see (before the policy's ``__missing``
        indicators): ``features_``, and those :meth:`_model_table` derives from them."""
        return list(self.features_)

    def _model_table(self, table: pd.DataFrame) -> pd.DataFrame:
        """``table`` with the columns of :attr:`model_features_` (here: as it is)."""
        return table

    def bad_value_mask(self, table: pd.DataFrame) -> np.ndarray:
        """(N, n_model_features) bool: True where a value is bad under the model's policy."""
        return self.policy_.bad_matrix(self._model_table(table), self.model_features_)

    def valid_rows(self, table: pd.DataFrame) -> np.ndarray:
        """True where a row's features can be used (see ``BadValuePolicy.usable_rows``)."""
        return self.policy_.usable_rows(self.bad_value_mask(table))

    def _scale(self, x: np.ndarray) -> np.ndarray:
        return (x - self.scaler_mean_) / self.scaler_scale_

    def _inputs(self, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Model inputs (N, n_inputs) float32 (standardised when :attr:`uses_scaler`) and the
        bad-value matrix (N, n_model_features), the bad values computed once."""
        table = self._model_table(table)
        bad = self.policy_.bad_matrix(table, self.model_features_)
        x, _ = self.policy_.transform(table, self.model_features_, bad)
        if self.uses_scaler:
            x = self._scale(x).astype(np.float32)
        return x, bad

    def model_inputs(self, table: pd.DataFrame) -> np.ndarray:
        """The matrix (N, n_inputs) float32 the model sees for ``table``: features after the
        bad-value policy (then indicator columns ``<feature>__missing``), standardised when
        :attr:`uses_scaler`. Column names: ``policy_.feature_names(model_features_)``."""
        self._check_fitted()
        require_columns(table, self.required_columns_, "input table")
        return self._inputs(table)[0]

    def _check_fitted(self) -> None:
        if not hasattr(self, "metrics_"):  # set last by fit, and by load
            raise RuntimeError(f"this {type(self).__name__} is not fitted: call fit() or load() "
                               "first")

    # -- save / load ------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write the model bundle (:mod:`nncz.bundle`): the model file and ``nncz_model.json``."""
        self._check_fitted()
        return save_bundle(self, directory)

    @classmethod
    def load(cls, directory: str | Path) -> PhotoZEstimator:
        """Rebuild and verify an estimator saved by :meth:`save` (no pickle)."""
        return load_model(directory, cls)

    # -- subclass hooks ---------------------------------------------------------------------
    def _param_checks(self) -> dict[str, bool]:  # pragma: no cover - abstract
        """``{parameter name: whether its value is valid}`` beyond the shared ones."""
        raise NotImplementedError

    def _bundle_fields(self) -> dict[str, Any]:  # pragma: no cover - abstract
        """The kind's fields of ``nncz_model.json`` (all checksummed), JSON-able."""
        raise NotImplementedError

    def _write_payload(self, directory: Path) -> str:  # pragma: no cover - abstract
        """Write the learned model into ``directory`` (atomically); returns the file's name."""
        raise NotImplementedError

    @classmethod
    def _init_kwargs(cls, fields: BundleFields) -> dict[str, Any]:
        """Constructor arguments kept in the kind's fields (:attr:`params_in_fields`)."""
        return {}

    def _restore_payload(self, fields: BundleFields, path: Path) -> None:  # pragma: no cover
        """Read the learned model from ``path`` (checksum already verified) and ``fields``."""
        raise NotImplementedError


def row_flags(bad: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """``nncz_flag`` (N,) int16 from the bad-value matrix (N, n_features) and the usable rows:
    ``FLAG_NO_PREDICTION`` where a row cannot be used, ``FLAG_FILLED`` where some of its values
    were filled."""
    flag = np.where(usable, 0, FLAG_NO_PREDICTION).astype(np.int16)
    flag[bad.any(axis=1) & usable] |= FLAG_FILLED
    return flag
