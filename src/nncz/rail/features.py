"""RAIL-side feature building: RAIL's non-detection convention, then nncz's input table.

RAIL catalogs carry magnitudes ``bands`` with errors ``err_bands``; a non-detected magnitude is
``nondetect_val`` (99 in DC2, or NaN). RAIL's estimators (FlexZBoost, KNN, GPz, ...) replace a
non-detection by the band's limiting magnitude ``mag_limits[band]`` and its error by 1.0 before
computing features; :class:`RailFeatureSpec` does the same (``nondetect="mag_limit"``, the
default) or hands non-detections to nncz's own bad-value policy (``nondetect="indicator"``: the
magnitude becomes NaN, which the policy fills with the largest training value, adding a
``<feature>__missing`` 0/1 feature, see :mod:`nncz.cleaning`). Either way every input row gets
a PDF, as a RAIL output needs.

The colours are not computed here: the ``colours`` part is passed to
:class:`nncz.estimator.NNCEstimator` as ``colours=bands``, which derives them at fit and at
every prediction (a colour is bad, then filled and flagged, where either magnitude is bad).
RAIL's ``isclose(mag, nondetect_val, atol=0.01)`` decides what a non-detection is, not the
policy's exact sentinels: in ``indicator`` mode a non-detection reaches the estimator as NaN.

The spec is saved next to the network in the model archive, so the estimate stage rebuilds
exactly the input table the network was trained on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from nncz.cleaning import DEFAULT_SENTINELS, BadValuePolicy
from nncz.io import ColumnError

FEATURE_PARTS = ("mags", "ref", "colours", "errs")
NONDETECT_MODES = ("mag_limit", "indicator")
NONDETECT_ERROR = 1.0  # RAIL's error for a magnitude replaced by its limit
NONDETECT_ATOL = 0.01  # RAIL's np.isclose tolerance for nondetect_val


def parse_feature_set(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"mags+colours+errs"`` (or a list) -> ``("mags", "colours", "errs")``, validated."""
    parts = text.split("+") if isinstance(text, str) else list(text)
    parts = tuple(p.strip() for p in parts if str(p).strip())
    unknown = sorted(set(parts) - set(FEATURE_PARTS))
    if unknown or not parts:
        raise ValueError(
            f"feature_set {text!r}: parts must be '+'-joined from {list(FEATURE_PARTS)}"
        )
    return parts


@dataclass(frozen=True)
class RailFeatureSpec:
    """How a RAIL table becomes nncz's feature table (see module docstring).

    Parameters
    ----------
    bands, err_bands : sequence of str
        Magnitude columns (AB mag) and their error columns (mag), in wavelength order; colours
        are differences of adjacent ``bands`` (computed by the estimator).
    ref_band : str
        The magnitude used by the ``ref`` feature part (RAIL's "band to use in addition to
        colors").
    mag_limits : dict of str to float
        Limiting magnitude (AB mag) of each band, the value of a non-detection.
    nondetect_val : float
        Magnitude written for a non-detection (NaN allowed).
    nondetect : str
        ``"mag_limit"`` (RAIL's convention) or ``"indicator"`` (nncz's fill + indicator).
    feature_set : sequence of str
        Parts from ``mags`` (every band), ``ref`` (``ref_band``), ``colours`` (adjacent
        differences: the estimator's ``colours``), ``errs`` (every error column).
    """

    bands: tuple[str, ...]
    err_bands: tuple[str, ...]
    ref_band: str
    mag_limits: dict[str, float] = field(default_factory=dict)
    nondetect_val: float = 99.0
    nondetect: str = "mag_limit"
    feature_set: tuple[str, ...] = ("mags", "colours", "errs")

    def __post_init__(self) -> None:
        object.__setattr__(self, "bands", tuple(self.bands))
        object.__setattr__(self, "err_bands", tuple(self.err_bands))
        object.__setattr__(self, "feature_set", parse_feature_set(self.feature_set))
        object.__setattr__(self, "nondetect_val", _as_float(self.nondetect_val))
        if self.nondetect not in NONDETECT_MODES:
            raise ValueError(f"nondetect_policy must be one of {NONDETECT_MODES}, "
                             f"got {self.nondetect!r}")
        if len(self.bands) < 1 or len(self.err_bands) != len(self.bands):
            raise ValueError(f"bands ({len(self.bands)}) and err_bands "
                             f"({len(self.err_bands)}) must be non-empty and of equal length")
        if "ref" in self.feature_set and self.ref_band not in self.bands:
            raise ValueError(f"ref_band {self.ref_band!r} is not one of bands {list(self.bands)}")
        missing = [b for b in self.bands if b not in self.mag_limits]
        if self.nondetect == "mag_limit" and missing:
            raise ValueError(f"mag_limits has no limit for band(s) {missing}")

    # ---------------------------------------------------------------- columns
    def input_columns(self) -> list[str]:
        """Columns a table must hold for :meth:`feature_frame` (the columns it returns)."""
        needs_errors = "errs" in self.feature_set
        return list(self.bands) + (list(self.err_bands) if needs_errors else [])

    def feature_names(self) -> list[str]:
        """The estimator's ``features`` (the network's direct inputs), in order: the ``mags``,
        ``ref`` and ``errs`` parts (the ``colours`` part is :meth:`colour_bands`)."""
        names: list[str] = []
        for part in self.feature_set:
            if part == "mags":
                names += list(self.bands)
            elif part == "ref":
                names.append(self.ref_band)
            elif part == "errs":
                names += list(self.err_bands)
        return list(dict.fromkeys(names))

    def colour_bands(self) -> tuple[str, ...]:
        """The estimator's ``colours``: ``bands`` with the ``colours`` part (and two bands or
        more: one band has no colour), else none."""
        return self.bands if "colours" in self.feature_set and len(self.bands) > 1 else ()

    def bad_value_policy(self) -> BadValuePolicy:
        """nncz's ``fill`` policy, with ``nondetect_val`` among its sentinels."""
        sentinels = DEFAULT_SENTINELS
        if not math.isnan(self.nondetect_val) and self.nondetect_val not in sentinels:
            sentinels = (*sentinels, self.nondetect_val)
        return BadValuePolicy(mode="fill", sentinels=sentinels)

    # ------------------------------------------------------------- features
    def nondetected(self, magnitudes: np.ndarray) -> np.ndarray:
        """True where a magnitude column holds the non-detection value."""
        if math.isnan(self.nondetect_val):
            return np.isnan(magnitudes)
        return np.isclose(magnitudes, self.nondetect_val, atol=NONDETECT_ATOL)

    def feature_frame(self, table: Mapping[str, np.ndarray] | pd.DataFrame,
                      source: str = "input table") -> pd.DataFrame:
        """The estimator's input table (float64, one row per input row) from a RAIL table:
        the :meth:`input_columns` after RAIL's non-detection convention (``mag_limit``: the
        magnitude becomes its band's limit and its error 1.0; ``indicator``: the magnitude
        becomes NaN, a bad value for the estimator, and so do the colours made with it).

        The input is not modified. Raises :class:`nncz.io.ColumnError` naming ``source`` when
        a column is missing.
        """
        columns = list(table.keys())
        missing = [c for c in self.input_columns() if c not in table]
        if missing:
            raise ColumnError(f"column(s) {missing} missing from {source}; it has {columns}")
        mags: dict[str, np.ndarray] = {}
        errors: dict[str, np.ndarray] = {}
        with_errors = "errs" in self.feature_set
        for band, err_band in zip(self.bands, self.err_bands, strict=True):
            mag = np.asarray(table[band], dtype=np.float64).copy()
            undetected = self.nondetected(mag)
            mag[undetected] = (float(self.mag_limits[band]) if self.nondetect == "mag_limit"
                               else np.nan)
            mags[band] = mag
            if with_errors:
                errors[err_band] = np.asarray(table[err_band], dtype=np.float64).copy()
                if self.nondetect == "mag_limit":
                    errors[err_band][undetected] = NONDETECT_ERROR
        return pd.DataFrame({**mags, **errors})

    # ---------------------------------------------------------- persistence
    def to_dict(self) -> dict:
        values = asdict(self)
        values["nondetect_val"] = None if math.isnan(self.nondetect_val) else self.nondetect_val
        values["bands"], values["err_bands"] = list(self.bands), list(self.err_bands)
        values["feature_set"] = list(self.feature_set)
        return values

    @classmethod
    def from_dict(cls, values: Mapping) -> RailFeatureSpec:
        known = {k: values[k] for k in cls.__dataclass_fields__ if k in values}
        return cls(**known)


def _as_float(value: float | None) -> float:
    return float("nan") if value is None else float(value)
