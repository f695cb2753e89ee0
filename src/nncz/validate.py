"""Checks of feature tables where they enter the command line: errors and suspect-data warnings.

:func:`check_features` refuses what cannot work (a non-numeric feature column; in a training
table a feature with no usable value, or the target among the features) and warns, one line
each, about what would give suspect results: a feature given twice, a constant feature,
negative values in an error column, an all-bad feature in a table to predict. Bad values are
those of :class:`nncz.cleaning.BadValuePolicy` (NaN, inf, the 99/-99/999 sentinels, ``|x| >= 90``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

log = logging.getLogger("nncz")

__all__ = ["check_features", "feature_warnings", "is_error_column"]


def is_error_column(name: str) -> bool:
    """True for names of uncertainty columns (``magerr_g``, ``g_err``, ``mag_g_err``, ``e_g``)."""
    lower = name.lower()
    return "err" in lower or lower.startswith("e_") or lower.endswith(("_sigma", "_unc"))


def _numeric(table: pd.DataFrame, column: str, source: str) -> np.ndarray:
    try:
        return table[column].to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        example = table[column].iloc[0] if len(table) else None
        raise ValueError(f"feature column {column!r} of {source} is not numeric "
                         f"(dtype {table[column].dtype}, e.g. {example!r})") from None


def feature_warnings(table: pd.DataFrame, features: Sequence[str], source: str,
                     target: str | None = None) -> list[str]:
    """One-line warnings about ``features`` of ``table`` (empty when nothing is suspect).

    Parameters
    ----------
    table : pandas.DataFrame
        Holds every feature column (checked before).
    features : sequence of str
    source : str
        File name used in the messages.
    target : str, optional
        The redshift column of a training table.

    Returns
    -------
    list of str
    """
    from nncz.cleaning import BadValuePolicy

    policy = BadValuePolicy()
    messages = []
    if target is not None and target in features:
        messages.append(f"the target {target!r} is also a feature: the model can copy it, "
                        "and its predictions on data without redshifts are meaningless")
    twice = sorted({f for f in features if list(features).count(f) > 1})
    if twice:
        messages.append(f"feature(s) {twice} given more than once")
    for column in dict.fromkeys(features):
        values = _numeric(table, column, source)
        good = values[~policy.bad_mask(values, column)]
        if len(values) and not good.size:
            messages.append(f"feature {column!r} of {source} has no usable value "
                            "(all NaN, inf or sentinel): every row is flagged")
        elif good.size > 1 and np.ptp(good) == 0:
            messages.append(f"feature {column!r} of {source} is constant ({good[0]:g}); "
                            "it carries no information")
        if is_error_column(column) and (good < 0).any():
            messages.append(f"{int((good < 0).sum())} row(s) of error column {column!r} of "
                            f"{source} are negative; uncertainties must be >= 0")
    return messages


def check_features(table: pd.DataFrame, features: Sequence[str], target: str | None,
                   source: str, training: bool = True) -> list[str]:
    """Refuse unusable features and log a warning for each suspect one.

    Parameters
    ----------
    table : pandas.DataFrame
    features : sequence of str
    target : str or None
        The redshift column (training) or None (prediction).
    source : str
        File name used in the messages.
    training : bool
        A feature with no usable value is an error in a training table (no row could be
        learned from), a warning otherwise.

    Returns
    -------
    list of str
        The warnings that were logged.

    Raises
    ------
    ValueError
        A non-numeric feature column, or (``training``) a feature with no usable value or the
        target among the features.
    """
    messages = feature_warnings(table, features, source, target)
    if training and len(table):
        fatal = [m for m in messages if "has no usable value" in m or "the target" in m]
        if fatal:
            raise ValueError(fatal[0].replace(": every row is flagged", "")
                             .replace("the target", f"{source}: the target"))
    for message in messages:
        log.warning(message)
    return messages
