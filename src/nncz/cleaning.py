"""Bad-value policy for features and targets: NaN, +-inf, sentinels and absurd values.

A feature value is *bad* when it is not finite, equals one of the sentinels (99, -99, 999, ...
as catalogs write non-detections), has ``|value| >= abs_max`` (e.g. an error of 10^4 mag), or lies
outside a per-column ``valid_range``. What happens to bad values is the policy's ``mode``:

``drop``
    Training rows with any bad feature are dropped (the count is reported per column). At
    prediction such rows get NaN products and ``nncz_flag = 1``; the output keeps one row per
    input row.
``fill``
    Bad values are replaced by a per-feature fill value learned at fit time (the largest valid
    training value: the faint end for magnitudes and errors, i.e. "not detected") and, for every
    feature that had bad values in training, a 0/1 indicator feature ``<feature>__missing`` is
    added so the network knows. Nothing is dropped.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

log = logging.getLogger("nncz.cleaning")

DEFAULT_SENTINELS = (99.0, -99.0, 999.0, -999.0, 9999.0, -9999.0)


@dataclass
class BadValuePolicy:
    """How bad feature values are detected and handled (see module docstring)."""

    mode: str = "drop"
    sentinels: tuple[float, ...] = DEFAULT_SENTINELS
    abs_max: float = 90.0
    valid_range: dict[str, tuple[float, float]] = field(default_factory=dict)
    fill_values_: dict[str, float] = field(default_factory=dict)
    indicator_features_: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.mode not in ("drop", "fill"):
            raise ValueError(f"bad-value mode must be 'drop' or 'fill', got {self.mode!r}")
        self.sentinels = tuple(float(s) for s in self.sentinels)
        self.valid_range = {k: (float(v[0]), float(v[1])) for k, v in self.valid_range.items()}

    def bad_mask(self, values: np.ndarray, column: str) -> np.ndarray:
        """True where ``values`` (one column) is bad."""
        values = np.asarray(values, dtype=np.float64)
        bad = ~np.isfinite(values) | (np.abs(values) >= self.abs_max)
        if self.sentinels:
            bad |= np.isin(values, self.sentinels)
        if column in self.valid_range:
            low, high = self.valid_range[column]
            bad |= (values < low) | (values > high)
        return bad

    def fit(self, table: pd.DataFrame, features: list[str]) -> BadValuePolicy:
        """Learn fill values and which features get an indicator (``fill`` mode)."""
        self.fill_values_, self.indicator_features_ = {}, []
        for column in features:
            values = table[column].to_numpy(dtype=np.float64)
            bad = self.bad_mask(values, column)
            good = values[~bad]
            self.fill_values_[column] = float(good.max()) if good.size else 0.0
            if self.mode == "fill" and bad.any():
                self.indicator_features_.append(column)
        return self

    def bad_matrix(self, table: pd.DataFrame, features: list[str]) -> np.ndarray:
        """(N, n_features) bool: True where a feature value is bad."""
        if not features:
            return np.zeros((len(table), 0), dtype=bool)
        return np.column_stack([self.bad_mask(table[c].to_numpy(dtype=np.float64), c)
                                for c in features])

    def usable_rows(self, bad: np.ndarray) -> np.ndarray:
        """Rows whose features can be used, from :meth:`bad_matrix`: under ``drop`` no value may
        be bad, under ``fill`` at least one must be good (the others are filled)."""
        if not bad.shape[1]:
            return np.ones(len(bad), dtype=bool)
        return ~bad.any(axis=1) if self.mode == "drop" else ~bad.all(axis=1)

    def transform(self, table: pd.DataFrame, features: list[str],
                  bad: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Feature matrix (N, n_features + n_indicators) float32 and a per-row 'had bad' mask.

        ``bad`` is :meth:`bad_matrix` of the same rows, when the caller has it already.
        """
        bad = self.bad_matrix(table, features) if bad is None else bad
        columns, indicators = [], []
        for k, column in enumerate(features):
            values = table[column].to_numpy(dtype=np.float64)
            if self.mode == "fill":
                values = np.where(bad[:, k], self.fill_values_.get(column, 0.0), values)
                if column in self.indicator_features_:
                    indicators.append(bad[:, k].astype(np.float64))
            columns.append(values)
        matrix = np.column_stack(columns + indicators) if columns else np.empty((len(table), 0))
        return matrix.astype(np.float32), bad.any(axis=1)

    def feature_names(self, features: list[str]) -> list[str]:
        """Names of the columns :meth:`transform` returns."""
        return list(features) + [f"{c}__missing" for c in self.indicator_features_]

    def report(self, table: pd.DataFrame, features: list[str]) -> dict[str, int]:
        """Number of bad values per feature column."""
        return {
            c: int(self.bad_mask(table[c].to_numpy(dtype=np.float64), c).sum()) for c in features
        }

    def to_dict(self) -> dict:
        values = asdict(self)
        values["valid_range"] = {k: list(v) for k, v in self.valid_range.items()}
        values["sentinels"] = list(self.sentinels)
        return values

    @classmethod
    def from_dict(cls, values: dict) -> BadValuePolicy:
        values = dict(values)
        fill_values = values.pop("fill_values_", {})
        indicators = values.pop("indicator_features_", [])
        policy = cls(**values)
        policy.fill_values_, policy.indicator_features_ = dict(fill_values), list(indicators)
        return policy


def clean_target(z: np.ndarray, z_min: float, z_max: float, name: str) -> np.ndarray:
    """Mask of usable training redshifts: finite and inside the grid; logs what it drops."""
    z = np.asarray(z, dtype=np.float64)
    finite = np.isfinite(z)
    inside = finite & (z >= z_min) & (z < z_max)
    n_nonfinite, n_outside = int((~finite).sum()), int((finite & ~inside).sum())
    if n_nonfinite or n_outside:
        log.warning(
            "target %r: dropping %d rows with non-finite redshift and %d outside the grid "
            "[%g, %g)", name, n_nonfinite, n_outside, z_min, z_max,
        )
    return inside
