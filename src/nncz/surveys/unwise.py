"""unWISE (Schlafly et al. 2019; Data Lab ``unwise_dr1.object`` naming): cuts and AB magnitudes.

Cuts: ``flags_unwise_w1 == 0``, ``flags_unwise_w2 == 0``, ``flags_info_w1 == 0``,
``flags_info_w2 == 0``; valid magnitudes (flux > 0) and positive flux errors in W1 and W2.

Fluxes are Vega nanomaggies: m_AB = 22.5 - 2.5 log10(flux) + (2.699 W1, 3.339 W2); the error is
1.0857 dflux / flux. When an E(B-V) is given (e.g. the one used for the PS1 magnitudes of the
same object) W1/W2 are dereddened with the Legacy Surveys coefficients 0.184 / 0.113.

Output columns: ``w1``, ``w1_err``, ``w2``, ``w2_err``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nncz.funnel import Funnel
from nncz.surveys._util import MAGERR_FACTOR, flux_to_mag, num, require
from nncz.surveys.dust import LS_COEFFS

__all__ = ["WISE_BANDS", "VEGA_TO_AB", "required_columns", "select_unwise"]

WISE_BANDS: tuple[str, ...] = ("w1", "w2")
VEGA_TO_AB: dict[str, float] = {"w1": 2.699, "w2": 3.339}


def required_columns() -> list[str]:
    """Columns the unWISE stage needs."""
    return ["unwise_objid", "ra", "dec"] + [
        f"{p}_{b}" for b in WISE_BANDS
        for p in ("flux", "dflux", "flags_unwise", "flags_info")]


def select_unwise(df: pd.DataFrame, funnel: Funnel | None = None, source: str = "unwise",
                  stage: str = "unwise", ebv: np.ndarray | None = None,
                  prefix: str = "") -> pd.DataFrame:
    """Apply the unWISE cuts and add AB magnitudes.

    Parameters
    ----------
    df : pandas.DataFrame
        N unWISE rows; column names may carry ``prefix`` (e.g. after a join).
    funnel : Funnel, optional
        Receives one step per cut.
    source : str
        File name used in error messages.
    stage : str
        Stage name in the funnel.
    ebv : array, shape (N,), optional
        E(B-V) [mag] per row; None: no dereddening.
    prefix : str
        Prefix of the unWISE columns in ``df``.

    Returns
    -------
    pandas.DataFrame
        Survivors with ``w1``, ``w1_err``, ``w2``, ``w2_err`` [AB mag] added.
    """
    require(df, [prefix + c for c in required_columns()[3:]], source)
    funnel = funnel if funnel is not None else Funnel(stage)
    if ebv is not None:
        df = df.assign(_ebv_wise=np.asarray(ebv, dtype=np.float64))
    for flag in ("flags_unwise", "flags_info"):
        keep = np.ones(len(df), dtype=bool)
        for b in WISE_BANDS:
            keep &= num(df, f"{prefix}{flag}_{b}") == 0
        df = funnel.apply(df, keep, f"{flag} == 0 in W1 W2", stage)
    keep = np.ones(len(df), dtype=bool)
    for b in WISE_BANDS:
        flux, dflux = num(df, f"{prefix}flux_{b}"), num(df, f"{prefix}dflux_{b}")
        keep &= np.isfinite(flux) & (flux > 0) & np.isfinite(dflux) & (dflux > 0)
    df = funnel.apply(df, keep, "valid W1 W2 mags (flux > 0) and dflux > 0", stage)
    new = {}
    for b in WISE_BANDS:
        flux, dflux = num(df, f"{prefix}flux_{b}"), num(df, f"{prefix}dflux_{b}")
        mag = flux_to_mag(flux) + VEGA_TO_AB[b]
        if ebv is not None:
            mag = mag - LS_COEFFS[b] * df["_ebv_wise"].to_numpy()
        new[b] = mag
        new[f"{b}_err"] = MAGERR_FACTOR * dflux / flux
    df = df.drop(columns=[c for c in [*new, "_ebv_wise"] if c in df.columns])
    return pd.concat([df, pd.DataFrame(new, index=df.index)], axis=1)
